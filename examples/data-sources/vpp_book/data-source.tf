# One book by its App Store id. token_id picks the location when several tokens bought it.
data "vpp_book" "handbook" {
  adam_id  = "1000000001"
  token_id = vpp_token.library.id
}

# Or by its exact title, as Apple spells it.
data "vpp_book" "style" {
  title = "The Elements of Style"
}

output "handbook_available" {
  value = data.vpp_book.handbook.available_licenses
}
