# Shared iPads in the library lobby: nobody signs in with an Apple Account on them, so apps are
# licensed to the devices themselves, by serial number. Order and case do not matter.
resource "vpp_device_group" "lobby_kiosks" {
  name        = "Lobby kiosks"
  description = "Shared iPads at the library entrance"
  serial_numbers = [
    "DMPXK1ZZJGH5",
    "DMPXK2ZZJGH6",
    "F9FXK3ZZJGH7",
  ]
}

# A classroom cart, its serial numbers exported from Apple School Manager or the device management
# system as a CSV file with a "Serial Number" column.
resource "vpp_device_group" "cart_room_4" {
  name           = "Cart, room 4"
  serial_numbers = [for row in csvdecode(file("${path.module}/cart-room-4.csv")) : row["Serial Number"]]
}
