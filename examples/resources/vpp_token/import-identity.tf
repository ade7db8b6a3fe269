# Terraform and OpenTofu 1.12 and later: import a token the engine already holds by its
# location's Apple uId (location_id). The identity stays the same when the token is renewed.
import {
  to = vpp_token.library
  identity = {
    location_id = "1234567890123456"
  }
}
