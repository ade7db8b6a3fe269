# Import a token the engine already holds (e.g. uploaded by another configuration sharing the
# database) by its id.
import {
  to = vpp_token.library
  id = "2f6c3b1e-8d4a-4c6e-9b7a-5e1d0c9f8a72"
}
