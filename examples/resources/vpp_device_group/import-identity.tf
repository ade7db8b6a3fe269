# Terraform and OpenTofu 1.12 and later: import a device group the engine holds by its id.
import {
  to = vpp_device_group.cart_room_4
  identity = {
    id = "5e8a1c3b-2d4f-4b6a-9e7c-0a1b2c3d4e5f"
  }
}
