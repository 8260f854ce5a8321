"""genart studio: `python app.py [--host H] [--port P] [--share]` serves every page (the same as `genart serve`)."""

import sys

from genart_demo.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
