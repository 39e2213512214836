// Package vault holds the credential vault's key and its crypto (DESIGN §11):
// a 32-byte key in $AGENTOS_HOME/vault.key (mode 0600) and XChaCha20-Poly1305
// sealing, with the secret's name as additional data so a sealed value only
// opens under the name it was stored with. Storage is not its job: the graph
// store keeps the nonce and ciphertext it returns, and nothing else. It must
// never log, return or wrap a plaintext value in an error.
package vault
