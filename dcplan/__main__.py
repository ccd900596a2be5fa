import sys

from dcplan.cli.main import main

sys.exit(main())
