# A user group imports by its id (a UUID).
terraform import vpp_user_group.book_club 3f1c2b9e-8d4a-4f67-9a51-2c7e0d6b8a10
