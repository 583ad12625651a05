import sys

from devinfra.bench.cli import main

sys.exit(main())
