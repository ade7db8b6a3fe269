# By "<app_id>/<group_id>": the app's id from the vpp_app or vpp_apps data source
# (<token_id>:<adam_id>:<pricing_param>) and the user group's id.
data "vpp_app" "keynote" {
  token_id  = vpp_token.library.id
  bundle_id = "com.apple.Keynote"
}

data "vpp_user_group" "staff" {
  id = "3f1c2b9e-8d4a-4f67-9a51-2c7e0d6b8a10"
}

import {
  to = vpp_app_assignment.staff_keynote
  id = "${data.vpp_app.keynote.id}/${data.vpp_user_group.staff.id}"
}

# An assignment to a device group by "<app_id>/<device_group_id>".
import {
  to = vpp_app_assignment.kiosk_pages
  id = "c0a8f6e2-1b3d-4c5e-8f7a-0b1c2d3e4f50:1600000001:STDQ/9d2e7f4a-6b1c-4d8e-a3f5-7c0b2e9d1a64"
}

# By the assignment's id (a UUID).
import {
  to = vpp_app_assignment.staff_pages
  id = "7b2e4c1a-5f3d-4e8b-b6a2-9c0d1e2f3a4b"
}

# Terraform and OpenTofu 1.12 and later: by its identity, the app and the group (one app has one
# assignment per group); for an assignment to a device group, group_id is the device group's id.
import {
  to = vpp_app_assignment.patrons_card
  identity = {
    app_id   = "c0a8f6e2-1b3d-4c5e-8f7a-0b1c2d3e4f50:1600000007:STDQ"
    group_id = "0b6f7d2e-4c1a-4e8b-9f3d-2a5c6e7b8d90"
  }
}
