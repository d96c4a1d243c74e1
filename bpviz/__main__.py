import sys

from bpviz.cli import main

sys.exit(main())
