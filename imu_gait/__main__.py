import sys

from imu_gait.cli import main

sys.exit(main())
