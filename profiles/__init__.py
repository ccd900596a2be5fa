"""Hardware profiles that ship with dcplan, installed as the package ``dcplan.shipped_profiles``.

No code lives here: the files are found through :func:`dcplan.io.resources.shipped_profiles_dir`.
"""
