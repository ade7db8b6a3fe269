# An assignment imports by its id (a UUID)...
terraform import vpp_app_assignment.staff_pages 7b2e4c1a-5f3d-4e8b-b6a2-9c0d1e2f3a4b

# ...or by "<app_id>/<group_id>": the app's id from the vpp_app or vpp_apps data source
# (<token_id>:<adam_id>:<pricing_param>) and the user group's id.
terraform import vpp_app_assignment.staff_pages 'c0a8f6e2-1b3d-4c5e-8f7a-0b1c2d3e4f50:1600000001:STDQ/3f1c2b9e-8d4a-4f67-9a51-2c7e0d6b8a10'

# An assignment to a device group imports by "<app_id>/<device_group_id>".
terraform import vpp_app_assignment.kiosk_pages 'c0a8f6e2-1b3d-4c5e-8f7a-0b1c2d3e4f50:1600000001:STDQ/9d2e7f4a-6b1c-4d8e-a3f5-7c0b2e9d1a64'
