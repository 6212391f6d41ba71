"""Virtual BLE IMU sensors on a real BLE stack (Bumble), and the bleak backend that reaches them.

Used by tests, demos and ``imu-gait emulate``. The product reaches this package only through ``--ble`` /
``IMU_GAIT_BLE`` (see :mod:`imu_gait.ble.transport`); Bumble is imported lazily from here.
"""
