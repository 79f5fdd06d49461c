import sys

from complife.cli import main

sys.exit(main())
