import sys

from devinfra.kafka.cli import main

sys.exit(main())
