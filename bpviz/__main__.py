import sys

from bpviz.main import main

sys.exit(main())
