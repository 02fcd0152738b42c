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
    error UnknownParticipant();
    error PatientIsErased();
    error ExpiryInThePast();

    event WriterChanged(address indexed writer, bool allowed);
    event Anchored(bytes32 indexed resourceKey, uint64 version, bytes32 contentHash, bytes32 policyHash);
    event AnchorConflict(bytes32 indexed resourceKey, uint64 version, bytes32 existing, bytes32 offered);
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
    mapping(address => Participant) public participants;
    /// patient key => grantee => purpose of use (HL7 v3 PurposeOfUse code, e.g. "TREAT") => expiry.
    mapping(bytes32 => mapping(address => mapping(bytes32 => uint64))) public grantExpiry;
    /// Patients whose keys were destroyed (crypto-shredding): no grant answers yes any more.
    mapping(bytes32 => bool) public erased;

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin();
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
        if (erased[patientKey]) revert PatientIsErased();
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
