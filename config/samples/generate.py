#!/usr/bin/env python3
"""Writes the demo's synthetic FHIR R4 events (events/*.json) and their manifest.

Every person, identifier and id here is invented; nothing comes from real records or from
third-party example sets. Run again to regenerate (the output is deterministic).
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261124)

PATIENTS = [
    # id, family, given, gender, birthDate, country, city, postal, line
    ("pat-de-0001", "Brandt", "Lena", "female", "1984-03-12", "DE", "Leipzig", "04109", "Karl-Tauchnitz-Str. 7"),
    ("pat-fr-0002", "Moreau", "Julien", "male", "1971-11-02", "FR", "Lyon", "69002", "14 rue Mercière"),
    ("pat-us-0003", "Whitaker", "Dana", "female", "1990-07-25", "US", "Madison", "53703", "221 Gorham St"),
    ("pat-ca-0004", "Tremblay", "Marc", "male", "1966-01-30", "CA", "Québec", "G1R 4P5", "58 rue Saint-Jean"),
    ("pat-jp-0005", "Hoshino", "Aiko", "female", "1979-09-18", "JP", "Sendai", "980-0811", "2-1 Ichibancho"),
    ("pat-br-0006", "Carvalho", "Rafael", "male", "1995-05-05", "BR", "Curitiba", "80010-010", "Rua XV de Novembro 300"),
    ("pat-nl-0007", "Verbeek", "Sanne", "female", "1988-12-01", "NL", "Utrecht", "3511 LX", "Oudegracht 120"),
    ("pat-it-0008", "Ferrante", "Luca", "male", "1958-06-14", "IT", "Bologna", "40121", "Via dell'Indipendenza 22"),
    ("pat-es-0009", "Quintana", "Irene", "female", "2001-02-27", "ES", "Valencia", "46002", "Carrer de la Pau 9"),
    ("pat-gb-0010", "Okafor", "Daniel", "male", "1975-10-09", "GB", "Leeds", "LS1 4DY", "17 Park Row"),
]
VITALS = [("8867-4", "Heart rate", 55, 95, "/min", "beats/minute"),
          ("8310-5", "Body temperature", 36.1, 37.9, "Cel", "C"),
          ("29463-7", "Body weight", 52, 98, "kg", "kg")]
LABS = [("2345-7", "Glucose [Mass/volume] in Serum or Plasma", 70, 140, "mg/dL"),
        ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", 140, 260, "mg/dL"),
        ("718-7", "Hemoglobin [Mass/volume] in Blood", 11.5, 16.5, "g/dL")]
CONDITIONS = [("44054006", "Diabetes mellitus type 2"), ("38341003", "Hypertensive disorder"),
              ("195967001", "Asthma"), ("55822004", "Hyperlipidemia"), ("35489007", "Depressive disorder")]
MEDS = [("860975", "metformin hydrochloride 500 MG Oral Tablet"),
        ("314076", "lisinopril 10 MG Oral Tablet"), ("617312", "atorvastatin 20 MG Oral Tablet")]


def stamp(day, hour):
    return f"2026-11-{day:02d}T{hour:02d}:{rng.randint(0, 59):02d}:00Z"


def meta(version, day):
    return {"versionId": str(version), "lastUpdated": stamp(day, 9)}


MRNS = {}  # a patient's identifier does not change between versions


def patient(p, version=1):
    pid, family, given, gender, birth, country, city, postal, line = p
    stamped = meta(version, 2)
    mrn = MRNS.setdefault(pid, f"MRN-{rng.randint(100000, 999999)}")  # the same draws as before
    return {"resourceType": "Patient", "id": pid, "meta": stamped,
            "identifier": [{"use": "official", "system": "urn:oid:2.16.840.1.113883.3.9999.1",
                            "value": mrn}],
            "active": True, "name": [{"use": "official", "family": family, "given": [given]}],
            "telecom": [{"system": "phone", "value": f"+00 555 {rng.randint(1000, 9999)}", "use": "home"}],
            "gender": gender, "birthDate": birth,
            "address": [{"use": "home", "line": [line], "city": city, "postalCode": postal, "country": country}]}


def ref(p):
    return {"reference": f"Patient/{p[0]}"}


def encounter(p, n, day):
    return {"resourceType": "Encounter", "id": f"enc-{p[0][4:]}-{n}", "meta": meta(1, day),
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
            "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "185349003",
                                  "display": "Encounter for check up"}]}],
            "subject": ref(p), "period": {"start": stamp(day, 10), "end": stamp(day, 11)}}


def vital(p, n, day, enc):
    code, display, lo, hi, unit, human = rng.choice(VITALS)
    value = round(rng.uniform(lo, hi), 1)
    return {"resourceType": "Observation", "id": f"obs-{p[0][4:]}-{n}", "meta": meta(1, day), "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "vital-signs", "display": "Vital Signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}], "text": display},
            "subject": ref(p), "encounter": {"reference": f"Encounter/{enc}"}, "effectiveDateTime": stamp(day, 10),
            "valueQuantity": {"value": value, "unit": human, "system": "http://unitsofmeasure.org", "code": unit}}


def lab(p, n, day, version=1):
    code, display, lo, hi, unit = rng.choice(LABS)
    return {"resourceType": "Observation", "id": f"obs-{p[0][4:]}-{n}", "meta": meta(version, day),
            "status": "final" if version == 1 else "amended",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory", "display": "Laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]},
            "subject": ref(p), "effectiveDateTime": stamp(day, 8),
            "valueQuantity": {"value": round(rng.uniform(lo, hi), 1), "unit": unit,
                              "system": "http://unitsofmeasure.org", "code": unit}}


def condition(p, n, day):
    code, display = rng.choice(CONDITIONS)
    return {"resourceType": "Condition", "id": f"cond-{p[0][4:]}-{n}", "meta": meta(1, day),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}], "text": display},
            "subject": ref(p), "onsetDateTime": f"20{rng.randint(10, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            "recordedDate": stamp(day, 11)}


def medication(p, n, day):
    code, display = rng.choice(MEDS)
    return {"resourceType": "MedicationRequest", "id": f"medrx-{p[0][4:]}-{n}", "meta": meta(1, day),
            "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                      "code": code, "display": display}]},
            "subject": ref(p), "authoredOn": stamp(day, 11),
            "dosageInstruction": [{"text": "1 tablet by mouth daily", "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}}]}


def allergy(p, n, day):
    return {"resourceType": "AllergyIntolerance", "id": f"allergy-{p[0][4:]}-{n}", "meta": meta(1, day),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}]},
            "type": "allergy", "category": ["medication"], "criticality": "high",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "764146007", "display": "Penicillin"}]},
            "patient": ref(p), "recordedDate": stamp(day, 12)}


def immunization(p, n, day):
    return {"resourceType": "Immunization", "id": f"imm-{p[0][4:]}-{n}", "meta": meta(1, day), "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140",
                                        "display": "Influenza, seasonal, injectable, preservative free"}]},
            "patient": ref(p), "occurrenceDateTime": stamp(day, 14), "primarySource": True}


events = []  # (name, key, value-or-text, resources, valid, country)
for i, p in enumerate(PATIENTS):
    day = 3 + i
    enc = f"enc-{p[0][4:]}-1"
    events.append(("patient", ref(p)["reference"], patient(p), p[5]))
    events.append(("encounter", ref(p)["reference"], encounter(p, 1, day), p[5]))
    events.append(("observation", ref(p)["reference"], vital(p, 1, day, enc), p[5]))
    events.append(("observation", ref(p)["reference"], lab(p, 2, day), p[5]))
    events.append(("condition", ref(p)["reference"], condition(p, 1, day), p[5]))
    extra = [medication, allergy, immunization][i % 3]
    events.append((extra(p, 1, day)["resourceType"].lower(), ref(p)["reference"], extra(p, 1, day), p[5]))
# An amended lab result (version 2) and an updated address (version 2).
events.append(("observation", "Patient/pat-de-0001", lab(PATIENTS[0], 2, 20, version=2), "DE"))
moved = patient(PATIENTS[2], version=2)
moved["address"][0].update({"line": ["48 Williamson St"], "postalCode": "53703"})
events.append(("patient", "Patient/pat-us-0003", moved, "US"))

# A transaction Bundle from an admission: a new patient and her first records.
newp = ("pat-pt-0011", "Sequeira", "Marta", "female", "1969-04-21", "PT", "Porto", "4000-322", "Rua de Santa Catarina 88")
uuid = "7c0e9d52-3a41-4b8e-9f6d-1e2a5b7c9d01"
entries = [patient(newp), encounter(newp, 1, 21), vital(newp, 1, 21, "enc-pt-0011-1"), lab(newp, 2, 21), condition(newp, 1, 21)]
entries[0].pop("id")  # created by the transaction: its id comes from the fullUrl
bundle = {"resourceType": "Bundle", "id": "bundle-admission-0011", "type": "transaction", "entry": []}
for e in entries:
    full_url = f"urn:uuid:{uuid}" if e["resourceType"] == "Patient" else f"urn:uuid:{rng.getrandbits(128):032x}"
    if e["resourceType"] != "Patient":
        e["subject"] = {"reference": f"urn:uuid:{uuid}"}
    entry = {"fullUrl": full_url, "resource": e,
             "request": {"method": "POST", "url": e["resourceType"]} if e["resourceType"] == "Patient"
             else {"method": "PUT", "url": f"{e['resourceType']}/{e['id']}"}}
    bundle["entry"].append(entry)
events.insert(30, ("bundle", f"Patient/{uuid}", bundle, "PT"))

# A record entered in error: the French patient's allergy is deleted again by a transaction
# Bundle whose DELETE entry names the version it deletes (the ledger anchors a tombstone as
# version 2). At the end of the stream, after the allergy itself.
deletion = {"resourceType": "Bundle", "id": "bundle-delete-fr-0002", "type": "transaction",
            "entry": [{"request": {"method": "DELETE", "url": "AllergyIntolerance/allergy-fr-0002-1",
                                   "ifMatch": 'W/"1"'}}]}
events.append(("bundle", "Patient/pat-fr-0002", deletion, "FR"))

# Results from a second source, the ACME laboratory (config/mappings/acme-lab): local codes
# under the lab's OID, units in lower case, New York local times without a zone, no status.
# The acme-lab mapping set makes them canonical; the last one carries a code the lab's
# ConceptMap maps only to a narrower LOINC code, so its rule dead-letters it.
# The lab names the patient as the order did: the EHR's id and the patient's identifier in the
# network's shared system (config/gateway.json identity.linkingIdentifierSystem), which is what
# joins the lab's results to the EHR's patient: ids are per source.
def mrn_of(p):
    for _, _, resource, _ in events:
        if isinstance(resource, dict) and resource.get("resourceType") == "Patient" and resource["id"] == p[0]:
            return resource["identifier"][0]


def acme_lab(p, n, code, display, value, unit, when):
    mrn = mrn_of(p)
    return {"resourceType": "Observation", "id": f"acme-{p[0][4:]}-{n}", "meta": {"versionId": "1"},
            "code": {"coding": [{"system": "urn:oid:2.999.2.1", "code": code, "display": display}]},
            "subject": {**ref(p), "identifier": {"system": mrn["system"], "value": mrn["value"]}},
            "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": unit}}


us = PATIENTS[2]
events.append(("lab-acme", ref(us)["reference"], acme_lab(us, 1, "GLU", "Glucose", 104, "mg/dl", "20261118083000"), "US"))
events.append(("lab-acme", ref(us)["reference"], acme_lab(us, 2, "K", "Potassium", 4.2, "mmol/l", "20260712091500"), "US"))
events.append(("invalid-lab-unmapped", ref(us)["reference"],
               acme_lab(us, 3, "GLU-X", "Glucose, other", 99, "mg/dl", "20261118083000"), "US"))

# Two broken events, in the middle of the stream.
truncated = json.dumps(patient(("pat-xx-9999", "Broken", "Event", "other", "2000-01-01", "DE", "Berlin", "10115", "Unter den Linden 1")))
events.insert(20, ("invalid-truncated", "invalid/1", truncated[: len(truncated) // 2], "DE"))
typo = {"resourceType": "Patinet", "id": "pat-typo-0001", "active": True}
events.insert(45, ("invalid-unknown-type", "invalid/2", typo, "FR"))

out_dir = os.path.join(HERE, "events")
os.makedirs(out_dir, exist_ok=True)
for f in os.listdir(out_dir):
    os.remove(os.path.join(out_dir, f))
manifest = []
for n, (name, key, value, country) in enumerate(events, start=1):
    valid = not name.startswith("invalid")
    res_id = value.get("id", "x") if isinstance(value, dict) else "x"
    short = res_id.split("-", 1)[-1] if valid else ""
    file = f"{n:03d}-{name}{'-' + short if short else ''}.json"
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    with open(os.path.join(out_dir, file), "w", encoding="utf-8") as fh:
        fh.write(text)
    version = value.get("meta", {}).get("versionId", "1") if isinstance(value, dict) else "1"
    count = len(value["entry"]) if isinstance(value, dict) and value.get("resourceType") == "Bundle" else 1
    deletes = isinstance(value, dict) and any(
        e.get("request", {}).get("method") == "DELETE" for e in value.get("entry", []))
    event_kind = "delete" if deletes else "create" if version == "1" else "update"
    manifest.append({"file": file, "key": key,
                     "headers": {"fhir-source": "acme-lab" if "lab-" in name else "demo-ehr",
                                 "fhir-event": event_kind,
                                 "content-type": "application/fhir+json", "fhir-jurisdiction": country},
                     "resources": count if valid else 0, "valid": valid})
with open(os.path.join(HERE, "events.manifest.json"), "w") as fh:
    json.dump(manifest, fh, indent=1)
    fh.write("\n")
types = {}
for (name, key, value, country) in events:
    if isinstance(value, dict) and value.get("resourceType") == "Bundle":
        for e in value["entry"]:
            kind = e["resource"]["resourceType"] if "resource" in e else "delete " + e["request"]["url"].split("/")[0]
            types[kind] = types.get(kind, 0) + 1
    elif not name.startswith("invalid"):
        types[value["resourceType"]] = types.get(value["resourceType"], 0) + 1
print(len(events), "events;", sum(types.values()), "resources;", types)
