"""The process that parses a large import file while the worker writes
(``letter.imports.pipeline``); its classes pickle under their own module."""

from letter.imports.pipeline import child_main

if __name__ == "__main__":
    child_main()
