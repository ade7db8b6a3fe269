# Every book the library's location bought, with license counts as of its last sync.
data "vpp_books" "library" {
  token_id = vpp_token.library.id
}

# Books whose title mentions "python" (any case) with at least 25 licenses left.
data "vpp_books" "python_with_room" {
  token_id      = vpp_token.library.id
  title         = "python"
  min_available = 25
}

output "library_licenses" {
  value = {
    for b in data.vpp_books.library.books : b.title => "${b.available_licenses} of ${b.total_licenses} available"
  }
}
