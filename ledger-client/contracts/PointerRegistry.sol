// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title PointerRegistry: access-controlled pointers from pseudonymous FHIR resource keys to the
/// SHA-256 of their encrypted off-chain blobs. No PHI: keys are HMACs, hashes are of ciphertext.
/// Anchoring is idempotent, so a gateway that re-delivers a batch after a crash changes nothing.
contract PointerRegistry {
    error NotAdmin();
    error NotWriter();
    error LengthMismatch();
    error ZeroContentHash();

    event WriterChanged(address indexed writer, bool allowed);
    event Anchored(bytes32 indexed resourceKey, uint64 version, bytes32 contentHash, bytes32 policyHash);
    event AnchorConflict(bytes32 indexed resourceKey, uint64 version, bytes32 existing, bytes32 offered);

    address public immutable admin;
    mapping(address => bool) public writers;
    mapping(bytes32 => mapping(uint64 => bytes32)) public contentHashOf;
    /// Written only for versions above 1: most resources are anchored once, at version 1, and a
    /// second storage slot per pointer would nearly double the gas. latest() fills the gap.
    mapping(bytes32 => uint64) private latestAbove1;

    constructor() {
        admin = msg.sender;
        writers[msg.sender] = true;
        emit WriterChanged(msg.sender, true);
    }

    function setWriter(address writer, bool allowed) external {
        if (msg.sender != admin) revert NotAdmin();
        writers[writer] = allowed;
        emit WriterChanged(writer, allowed);
    }

    /// Anchors one pointer per index. The same (key, version, hash) again is a no-op without an
    /// event; a different hash for an anchored version is reported (AnchorConflict) and skipped,
    /// never overwriting and never failing the rest of the batch.
    function anchorBatch(
        bytes32[] calldata resourceKeys,
        uint64[] calldata versions,
        bytes32[] calldata contentHashes,
        bytes32[] calldata policyHashes
    ) external {
        if (!writers[msg.sender]) revert NotWriter();
        uint256 n = resourceKeys.length;
        if (versions.length != n || contentHashes.length != n || policyHashes.length != n) {
            revert LengthMismatch();
        }
        for (uint256 i; i < n; ++i) {
            bytes32 key = resourceKeys[i];
            uint64 version = versions[i];
            bytes32 hash = contentHashes[i];
            if (hash == bytes32(0)) revert ZeroContentHash();
            bytes32 existing = contentHashOf[key][version];
            if (existing == hash) continue;
            if (existing != bytes32(0)) {
                emit AnchorConflict(key, version, existing, hash);
                continue;
            }
            contentHashOf[key][version] = hash;
            if (version > 1 && version > latestAbove1[key]) latestAbove1[key] = version;
            emit Anchored(key, version, hash, policyHashes[i]);
        }
    }

    /// The latest anchored version of a resource and its content hash (0, 0 if none).
    function latest(bytes32 resourceKey) external view returns (uint64 version, bytes32 contentHash) {
        version = latestAbove1[resourceKey];
        if (version == 0 && contentHashOf[resourceKey][1] != bytes32(0)) version = 1;
        contentHash = contentHashOf[resourceKey][version];
    }
}
