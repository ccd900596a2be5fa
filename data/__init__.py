"""dcplan's sourced reference data, shipped inside the wheel as the package ``dcplan.data``.

No code lives here: the files are read through :func:`dcplan.io.resources.data_dir`.
"""
