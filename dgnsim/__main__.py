import sys

from dgnsim.cli import main

sys.exit(main())
