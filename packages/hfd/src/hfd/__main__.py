import sys

from hfd.cli import main

sys.exit(main())
