# The provider keeps its records in an embedded database under .vpp/ by default.
provider "vpp" {}
