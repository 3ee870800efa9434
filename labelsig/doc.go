// Package labelsig authenticates Docker labels with HMAC-SHA256: the
// canonical encoding of a label set (sorted key=value lines), the MACs the
// sidecar writes on the containers it creates (so a container someone
// else labelled "managed" is recognised as not ours), and the controller
// keys of --controller-key-file (so only controllers signed by an
// operator's key are obeyed, each within the scope its key is bound to).
//
// It is pure but for LoadControllerKeys, which reads the key file: bytes
// and maps in, signatures and errors out. It imports only labels (for the
// label keys) and internal/keyfile (key file reading and key decoding,
// shared with secrets) and must not import any other tinyforge package:
// the deployer, controllers, sidecar and the labels CLI use it.
package labelsig
