# Terraform and OpenTofu 1.12 and later: import the assignment of a book to a group by the two:
# one book has one assignment per group.
import {
  to = vpp_ebook_assignment.handbook
  identity = {
    book_id  = "2f6c3b1e-8d4a-4c6e-9b7a-5e1d0c9f8a72:1234567890:STDQ"
    group_id = "0b6f7d2e-4c1a-4e8b-9f3d-2a5c6e7b8d90"
  }
}
