"""Live BLE recording on bleak's public API: scan, connect, configure, subscribe, reconnect, save.

The BLE stack is chosen by :func:`imu_gait.ble.transport.backends` (``--ble`` / ``IMU_GAIT_BLE``): bleak's
platform backend for real sensors, or the emulated sensors of ``imu-gait emulate``.
"""
