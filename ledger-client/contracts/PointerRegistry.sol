// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title PointerRegistry: access-controlled pointers from pseudonymous FHIR resource keys to the
/// SHA-256 of their encrypted off-chain blobs. No PHI: keys are HMACs, hashes are of ciphertext.
/// Anchoring is idempotent, so a gateway that re-delivers a batch after a crash changes nothing.
/// Two modes: `anchorBatch` keeps each pointer's content hash in storage (queryable here);
/// `anchorRoot` keeps only the root of a Merkle tree over a batch's pointers (one slot per
/// batch), whose inclusion proofs live off chain beside the blobs.
contract PointerRegistry {
    error NotAdmin();
    error NotWriter();
    error ZeroContentHash();
    error ZeroVersion();
    error UnknownParticipant();
    error PatientIsErased(bytes32 patientKey);
    error ExpiryInThePast();
    error EmptyBatch();
    error ZeroRoot();

    /// One resource version as the ledger knows it. `contentHash` is TOMBSTONE for a FHIR delete.
    /// `region` and `keyId` are short ASCII names (left-aligned), `mappingHash` the hash of the
    /// mapping set that normalized the resource, `patientKey` zero for resources without a patient.
    struct Pointer {
        bytes32 resourceKey;
        bytes32 patientKey;
        uint64 version;
        bytes32 contentHash;
        bytes32 policyHash;
        bytes32 mappingHash;
        bytes16 region;
        bytes32 keyId;
    }

    /// A pointer as anchorBatch takes it: the batch gives the policy and mapping hashes once,
    /// which saves 1,000 gas of calldata per pointer (gateways send one batch per pair).
    struct Entry {
        bytes32 resourceKey;
        bytes32 patientKey;
        uint64 version;
        bytes32 contentHash;
        bytes16 region;
        bytes32 keyId;
    }

    /// Where a Merkle root was anchored and over how many leaves (verification needs the count).
    struct Root {
        uint64 blockNumber;
        uint32 leafCount;
    }

    /// The content hash of a deleted version: no blob, and no SHA-256 output in practice.
    bytes32 public constant TOMBSTONE = bytes32(type(uint256).max);

    event WriterChanged(address indexed writer, bool allowed);
    /// One per newly anchored pointer. Its policy and mapping hashes are in the BatchAnchored
    /// event that follows the batch's Anchored events in the same transaction (once per batch
    /// rather than per pointer: 512 gas per pointer).
    event Anchored(
        bytes32 indexed resourceKey,
        bytes32 indexed patientKey,
        uint64 version,
        bytes32 contentHash,
        bytes16 region,
        bytes32 keyId
    );
    event BatchAnchored(bytes32 indexed policyHash, bytes32 indexed mappingHash, uint32 anchored);
    event AnchorConflict(bytes32 indexed resourceKey, uint64 version, bytes32 existing, bytes32 offered);
    event RootAnchored(bytes32 indexed root, uint32 leafCount);
    event ParticipantChanged(address indexed participant, bytes8 jurisdiction, bool active);
    /// expiresAt 0 means revoked.
    event GrantChanged(bytes32 indexed patientKey, address indexed grantee, bytes32 indexed purpose, uint64 expiresAt);
    event Erased(bytes32 indexed patientKey);

    /// A registered organisation: a jurisdiction code (ISO 3166-1 alpha-2 such as "DE", or a
    /// region such as "EU"), and whether it may currently receive data.
    struct Participant {
        bytes8 jurisdiction;
        bool active;
    }

    address public immutable admin;
    mapping(address => bool) public writers;
    mapping(bytes32 => mapping(uint64 => bytes32)) public contentHashOf;
    /// Written only for versions above 1: most resources are anchored once, at version 1, and a
    /// second storage slot per pointer would nearly double the gas. latest() fills the gap.
    mapping(bytes32 => uint64) private latestAbove1;
    mapping(bytes32 => Root) public roots;
    mapping(address => Participant) public participants;
    /// patient key => grantee => purpose of use (HL7 v3 PurposeOfUse code, e.g. "TREAT") => expiry.
    mapping(bytes32 => mapping(address => mapping(bytes32 => uint64))) public grantExpiry;
    /// Patients whose keys were destroyed (crypto-shredding): no grant answers yes any more.
    mapping(bytes32 => bool) public erased;

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin();
        _;
    }

    modifier onlyWriter() {
        if (!writers[msg.sender]) revert NotWriter();
        _;
    }

    modifier onlyWriterOrAdmin() {
        if (!writers[msg.sender] && msg.sender != admin) revert NotWriter();
        _;
    }

    constructor() {
        admin = msg.sender;
        writers[msg.sender] = true;
        emit WriterChanged(msg.sender, true);
    }

    function setWriter(address writer, bool allowed) external onlyAdmin {
        writers[writer] = allowed;
        emit WriterChanged(writer, allowed);
    }

    function setParticipant(address participant, bytes8 jurisdiction, bool active) external onlyAdmin {
        participants[participant] = Participant(jurisdiction, active);
        emit ParticipantChanged(participant, jurisdiction, active);
    }

    /// Lets `grantee` read the patient's data for `purpose` until `expiresAt` (unix seconds).
    /// Written by gateways (from FHIR Consent) or the admin.
    function grant(bytes32 patientKey, address grantee, bytes32 purpose, uint64 expiresAt)
        external
        onlyWriterOrAdmin
    {
        if (erased[patientKey]) revert PatientIsErased(patientKey);
        if (participants[grantee].jurisdiction == bytes8(0)) revert UnknownParticipant();
        if (expiresAt <= block.timestamp) revert ExpiryInThePast();
        grantExpiry[patientKey][grantee][purpose] = expiresAt;
        emit GrantChanged(patientKey, grantee, purpose, expiresAt);
    }

    function revoke(bytes32 patientKey, address grantee, bytes32 purpose) external onlyWriterOrAdmin {
        delete grantExpiry[patientKey][grantee][purpose];
        emit GrantChanged(patientKey, grantee, purpose, 0);
    }

    /// Records that the patient's keys were destroyed. Final: the ledger stays immutable, the
    /// data becomes unreadable, and every grant answers no from now on.
    function markErased(bytes32 patientKey) external onlyWriterOrAdmin {
        erased[patientKey] = true;
        emit Erased(patientKey);
    }

    /// Whether `participant` may read the patient's data for `purpose` now.
    function canRead(bytes32 patientKey, address participant, bytes32 purpose) external view returns (bool) {
        return !erased[patientKey] && participants[participant].active
            && grantExpiry[patientKey][participant][purpose] > block.timestamp;
    }

    /// Anchors each pointer in storage, all under one policy and mapping hash. The same (key, version, hash) again is a no-op without an
    /// event; a different hash for an anchored version is reported (AnchorConflict) and skipped,
    /// never overwriting and never failing the rest of the batch. A pointer for an erased
    /// patient fails the whole batch: the gateway checks before sending, so this is a race.
    function anchorBatch(bytes32 policyHash, bytes32 mappingHash, Entry[] calldata entries)
        external
        onlyWriter
    {
        uint256 n = entries.length;
        uint256 anchored;
        for (uint256 i; i < n; ++i) {
            Entry calldata p = entries[i];
            bytes32 key = p.resourceKey;
            uint64 version = p.version;
            bytes32 hash = p.contentHash;
            if (hash == bytes32(0)) revert ZeroContentHash();
            if (version == 0) revert ZeroVersion();
            bytes32 existing = contentHashOf[key][version];
            if (existing == hash) continue;
            if (existing != bytes32(0)) {
                emit AnchorConflict(key, version, existing, hash);
                continue;
            }
            if (p.patientKey != bytes32(0) && erased[p.patientKey]) revert PatientIsErased(p.patientKey);
            contentHashOf[key][version] = hash;
            if (version > 1 && version > latestAbove1[key]) latestAbove1[key] = version;
            emit Anchored(key, p.patientKey, version, hash, p.region, p.keyId);
            ++anchored;
        }
        if (anchored != 0) emit BatchAnchored(policyHash, mappingHash, uint32(anchored));
    }

    /// Anchors the root of a Merkle tree over `leafCount` pointers (see pointerLeaf). Anchoring
    /// the same root again is a no-op without an event.
    function anchorRoot(bytes32 root, uint32 leafCount) external onlyWriter {
        if (root == bytes32(0)) revert ZeroRoot();
        if (leafCount == 0) revert EmptyBatch();
        if (roots[root].blockNumber != 0) return;
        roots[root] = Root(uint64(block.number), leafCount);
        emit RootAnchored(root, leafCount);
    }

    /// The leaf of a pointer: 0x00 and its ABI encoding; inner nodes are 0x01, left, right.
    /// The prefixes keep a leaf from ever passing for an inner node.
    function pointerLeaf(Pointer calldata p) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x00), abi.encode(p)));
    }

    /// Whether `p` is leaf `index` of an anchored root. Level by level, a node without a right
    /// sibling (the last of an odd level) moves up unchanged, so a proof has no filler entries.
    function verifyInclusion(Pointer calldata p, uint32 index, bytes32[] calldata proof, bytes32 root)
        external
        view
        returns (bool)
    {
        uint256 n = roots[root].leafCount;
        if (n == 0 || index >= n) return false;
        bytes32 node = pointerLeaf(p);
        uint256 idx = index;
        uint256 used;
        while (n > 1) {
            if (idx % 2 == 1) {
                if (used == proof.length) return false;
                node = keccak256(abi.encodePacked(bytes1(0x01), proof[used++], node));
            } else if (idx + 1 < n) {
                if (used == proof.length) return false;
                node = keccak256(abi.encodePacked(bytes1(0x01), node, proof[used++]));
            }
            idx /= 2;
            n = (n + 1) / 2;
        }
        return used == proof.length && node == root;
    }

    /// Which of the given patients are erased, for gateways to check a batch in one call.
    function erasedAmong(bytes32[] calldata patientKeys) external view returns (bool[] memory result) {
        result = new bool[](patientKeys.length);
        for (uint256 i; i < patientKeys.length; ++i) {
            result[i] = erased[patientKeys[i]];
        }
    }

    /// The latest anchored version of a resource and its content hash (0, 0 if none; versions
    /// start at 1).
    function latest(bytes32 resourceKey) external view returns (uint64 version, bytes32 contentHash) {
        version = latestAbove1[resourceKey];
        if (version == 0 && contentHashOf[resourceKey][1] != bytes32(0)) version = 1;
        contentHash = contentHashOf[resourceKey][version];
    }
}
