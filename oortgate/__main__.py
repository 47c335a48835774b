import sys

from oortgate.cli import main

sys.exit(main())
