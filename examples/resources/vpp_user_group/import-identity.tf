# Terraform and OpenTofu 1.12 and later: import a user group the engine holds by its id.
import {
  to = vpp_user_group.teachers
  identity = {
    id = "0b6f7d2e-4c1a-4e8b-9f3d-2a5c6e7b8d90"
  }
}
