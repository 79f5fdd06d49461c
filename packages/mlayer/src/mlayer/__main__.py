import sys

from mlayer.cli import main

sys.exit(main())
