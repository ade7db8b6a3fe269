# A device group imports by its id (a UUID).
terraform import vpp_device_group.lobby_kiosks 7d2c4e1a-9b3f-4a6e-8c5d-1f0e2b3a4c5d
