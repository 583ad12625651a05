import sys

from devinfra.bench import main

sys.exit(main())
