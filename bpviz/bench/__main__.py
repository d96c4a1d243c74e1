import sys

from bpviz.bench.speed import main

sys.exit(main())
