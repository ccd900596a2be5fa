"""Command-line faces of dcplan: each module registers one command."""
