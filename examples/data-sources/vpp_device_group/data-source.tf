# The devices of a group as the engine holds them: serial numbers upper-case and sorted.
data "vpp_device_group" "lobby_kiosks" {
  id = vpp_device_group.lobby_kiosks.id
}

output "lobby_kiosk_count" {
  value = data.vpp_device_group.lobby_kiosks.serial_count
}
