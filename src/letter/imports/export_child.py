"""The process that writes parts of a large export while the worker writes
others (``letter.imports.exportparts``); its classes pickle under their own
module."""

from letter.imports.exportparts import child_main

if __name__ == "__main__":
    child_main()
