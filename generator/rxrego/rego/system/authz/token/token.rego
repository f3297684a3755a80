# METADATA
# title: rxrego sidecar token
# description: >-
#   The sha256 of the sidecar's bearer token, read by system.authz. The empty digest shipped
#   here matches no token, so nobody is allowed anything until rxrego writes the token's
#   sha256 in its place (`rxrego serve --token-file`, `rxrego deploy-config
#   --token-hash-file`). The token itself is never written down.
package system.authz.token

sha256 := ""
