# A token is imported by its id in the engine (a UUID). The engine never returns the token file:
# keep token_wo (or token) in the configuration; the first apply after the import stores it.
terraform import vpp_token.library 2f6c3b1e-8d4a-4c6e-9b7a-5e1d0c9f8a72
