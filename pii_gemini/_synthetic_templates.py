"""Sentence templates of the synthetic generator, per language (ai4privacy is en/fr/de/it).

English has the most (:data:`TEMPLATES`); French, German and Italian rows are written in
their own language with the same quirks (adjacent placeholders, a repeated value, literal
brackets that are not placeholders). Each template uses the labels of ai4privacy-200k.
"""

from __future__ import annotations

__all__ = ["TEMPLATES", "TEMPLATES_BY_LANGUAGE"]

TEMPLATES: tuple[str, ...] = (
    # support tickets
    "Dear {PREFIX} {LASTNAME}, your support ticket about the login issue has been escalated. "
    "We will call you at {PHONENUMBER} before {TIME}.",
    "Hi {FIRSTNAME}, thanks for contacting us. Please confirm that {EMAIL} is still the best "
    "address to reach you, {FIRSTNAME}.",
    "[urgent] Customer {FIRSTNAME} {LASTNAME} reports that the app crashes on login from {IPV4}. "
    "User agent: {USERAGENT}.",
    "Hello {FIRSTNAME}, the replacement card ending in {MASKEDNUMBER} will arrive at {STREET} "
    "{BUILDINGNUMBER}, {ZIPCODE} {CITY}. Your new PIN is {PIN}.",
    "Your account {USERNAME} was locked. Visit {URL} and enter the code we sent to {PHONENUMBER}.",
    "Dear {FIRSTNAME} {LASTNAME}, we noticed a login to {USERNAME} from {IP} at {TIME}. If it was "
    "not you, reset your password at {URL}.",
    # HR
    "Employee {FIRSTNAME} {MIDDLENAME} {LASTNAME} ({GENDER}, aged {AGE}) joins {COMPANYNAME} "
    "as {JOBTITLE} on {DATE}.",
    "Please update the personnel file of {PREFIX}{LASTNAME}: new address {BUILDINGNUMBER} "
    "{STREET}, {CITY}, {STATE} {ZIPCODE}.",
    "Job offer: {COMPANYNAME} is hiring a {JOBTYPE} {JOBTITLE} in {CITY}; send your CV to {EMAIL}.",
    "Payroll update: the salary of {FIRSTNAME} {LASTNAME} ({CURRENCYSYMBOL}{AMOUNT}) will be paid "
    "to {IBAN} every month.",
    "{FIRSTNAME} {LASTNAME} ({EMAIL}) has been promoted to {JOBTITLE} in the {JOBAREA} "
    "department. Congratulations, {FIRSTNAME}!",
    # banking
    "A payment of {CURRENCYSYMBOL}{AMOUNT} was sent from IBAN {IBAN} (BIC {BIC}) on {DATE}.",
    "Your card {CREDITCARDNUMBER} issued by {CREDITCARDISSUER} with CVV {CREDITCARDCVV} has been "
    "blocked after three failed attempts.",
    "Account {ACCOUNTNUMBER} ({ACCOUNTNAME}) received {AMOUNT} {CURRENCYCODE} from {FIRSTNAME} "
    "{LASTNAME}.",
    "Transfer of {CURRENCYSYMBOL}{AMOUNT} to {FIRSTNAME} {LASTNAME} failed because IBAN {IBAN} is "
    "invalid [urgent].",
    "BIC {BIC} and account {ACCOUNTNUMBER} belong to {COMPANYNAME}, {BUILDINGNUMBER} {STREET}, "
    "{CITY}.",
    "{ACCOUNTNAME} {ACCOUNTNUMBER}: the PIN of card {MASKEDNUMBER} was changed to {PIN} on {DATE}.",
    "{PREFIX}{LASTNAME} called about the invoice of {CURRENCYSYMBOL}{AMOUNT} due on {DATE}.",
    # medical
    "Appointment confirmed for {FIRSTNAME} {LASTNAME}, born {DOB}, on {DATE} at {TIME} with "
    "{PREFIX} {LASTNAME:2}.",
    "Patient record: {SEX}, age {AGE}, height {HEIGHT}, eye color {EYECOLOR}. Emergency contact: "
    "{PHONENUMBER}.",
    "{PREFIX} {FIRSTNAME} {LASTNAME}, aged {AGE}, gender {GENDER}, is scheduled for surgery on "
    "{DATE}.",
    "Reminder: {FIRSTNAME}, your blood test is on {DATE} at {TIME}. Call {PHONENUMBER} to "
    "reschedule.",
    "Session notes for {FIRSTNAME} ({AGE}, {SEX}): the client discussed stress at {COMPANYNAME}, "
    "where they work as {JOBTITLE}.",
    # education
    "The assessment of student {FIRSTNAME} {LASTNAME} in {JOBAREA} was found on device IMEI "
    "{PHONEIMEI}. Can you please collect it?",
    "Dear {FIRSTNAME}, your login for the e-learning portal is {USERNAME} and your temporary "
    "password is {PASSWORD}.",
    "Greetings {FIRSTNAME} {LASTNAME}, your certificate for the {JOBAREA} course will be posted to "
    "{BUILDINGNUMBER} {STREET}, {CITY} {ZIPCODE}.",
    "Student card lost by {FIRSTNAME} {MIDDLENAME} {LASTNAME}, {HEIGHT} tall with {EYECOLOR} eyes; "
    "please return it to {COMPANYNAME}.",
    # IT logs
    "Audit log: user {USERNAME} logged in from {IPV6} (MAC {MAC}) and downloaded files from {URL}.",
    "Firewall alert [sic]: repeated requests from {IP} targeting {URL}; contact the admin at "
    "{EMAIL}.",
    "Session {USERNAME} [note: automated]: password reset requested for {EMAIL} from {IPV4} at "
    "{TIME}.",
    "New device registered for {USERNAME}: MAC {MAC}, IP {IPV4}, browser {USERAGENT}.",
    "Error 503 at {TIME}: the request from {IPV6} with agent {USERAGENT} failed for user "
    "{USERNAME}.",
    # legal, insurance, real estate
    "The tenant {FIRSTNAME} {LASTNAME}, SSN {SSN}, residing at {BUILDINGNUMBER} {STREET}, "
    "{SECONDARYADDRESS}, {CITY}, agrees to the terms.",
    "Court summons for {PREFIX} {LASTNAME} regarding case 2023/114 [sic]; the hearing is on "
    "{DATE} at {TIME} in {CITY}.",
    "Claim filed by {FIRSTNAME} {LASTNAME} (DOB {DOB}) for the vehicle {VEHICLEVRM}; the payout of "
    "{AMOUNT} {CURRENCY} goes to account {ACCOUNTNUMBER}.",
    "Viewing at {BUILDINGNUMBER} {STREET}, {SECONDARYADDRESS}, {CITY}, {STATE} {ZIPCODE} "
    "({ORDINALDIRECTION} side) with agent {FIRSTNAME}.",
    # vehicles, travel, logistics
    "Vehicle with VIN {VEHICLEVIN} and registration {VEHICLEVRM} was reported near "
    "{NEARBYGPSCOORDINATE} in {COUNTY}.",
    "Booking for {PREFIX} {FIRSTNAME} {LASTNAME}: head {ORDINALDIRECTION} on {STREET} to reach the "
    "hotel in {CITY}, {STATE}.",
    "Passenger {FIRSTNAME} {LASTNAME}, {GENDER}, born {DOB}, seat 14C, contact {EMAIL}.",
    "Delivery driver {FIRSTNAME} was last seen at {NEARBYGPSCOORDINATE} heading {ORDINALDIRECTION} "
    "in {VEHICLEVRM}.",
    "Order shipped to {FIRSTNAME} {LASTNAME}, {BUILDINGNUMBER} {STREET}, {CITY}, {ZIPCODE}. Card "
    "{CREDITCARDNUMBER} was charged {CURRENCYSYMBOL}{AMOUNT}.",
    "{FIRSTNAME} {LASTNAME} wrote: I moved to {CITY} and my new number is {PHONENUMBER}. Please "
    "tell {FIRSTNAME:2} too.",
    # crypto
    "Please send {AMOUNT} {CURRENCYNAME} to the Bitcoin address {BITCOINADDRESS} or to "
    "{ETHEREUMADDRESS} before {DATE}.",
    "Your Litecoin wallet {LITECOINADDRESS} was credited with {CURRENCYSYMBOL}{AMOUNT}.",
    "Wallet recovery: {FIRSTNAME}, your Ethereum address {ETHEREUMADDRESS} was linked to {EMAIL} "
    "on {DATE}.",
)
"""English sentence templates; ``{LABEL}`` is a slot, ``{LABEL:k}`` a second, independent value
of the same label. A slot written twice (``{FIRSTNAME}`` ... ``{FIRSTNAME}``) repeats one value."""

FRENCH: tuple[str, ...] = (
    "Bonjour {PREFIX} {LASTNAME}, votre demande concernant la connexion a été transmise. Nous "
    "vous appellerons au {PHONENUMBER} avant {TIME}.",
    "Salut {FIRSTNAME}, merci de confirmer que {EMAIL} est toujours la bonne adresse, {FIRSTNAME}.",
    "[urgent] Le client {FIRSTNAME} {LASTNAME} signale un plantage de l'application depuis {IPV4}.",
    "Votre nouvelle carte se terminant par {MASKEDNUMBER} sera livrée au {BUILDINGNUMBER} "
    "{STREET}, {ZIPCODE} {CITY}. Votre code PIN est {PIN}.",
    "Le salarié {FIRSTNAME} {LASTNAME} ({GENDER}, {AGE}) rejoint {COMPANYNAME} comme {JOBTITLE} "
    "le {DATE}.",
    "Un virement de {AMOUNT} {CURRENCYSYMBOL} a été émis depuis l'IBAN {IBAN} (BIC {BIC}) le "
    "{DATE}.",
    "Rendez-vous confirmé pour {FIRSTNAME} {LASTNAME}, né le {DOB}, le {DATE} à {TIME} avec "
    "{PREFIX} {LASTNAME:2}.",
    "Dossier patient : {SEX}, âge {AGE}, taille {HEIGHT}, yeux {EYECOLOR}. Contact : "
    "{PHONENUMBER}.",
    "Journal d'audit : l'utilisateur {USERNAME} s'est connecté depuis {IPV6} (MAC {MAC}) et a "
    "téléchargé des fichiers sur {URL}.",
    "Le locataire {FIRSTNAME} {LASTNAME}, numéro de sécurité sociale {SSN}, demeurant au "
    "{BUILDINGNUMBER} {STREET}, {CITY}, accepte les conditions [sic].",
    "Véhicule immatriculé {VEHICLEVRM} (VIN {VEHICLEVIN}) signalé près de {NEARBYGPSCOORDINATE}.",
    "La facture de {CURRENCYSYMBOL}{AMOUNT} de {PREFIX}{LASTNAME} est due le {DATE}.",
    "Le compte {ACCOUNTNUMBER} ({ACCOUNTNAME}) a reçu {AMOUNT} {CURRENCYCODE} de {FIRSTNAME} "
    "{LASTNAME}.",
)
"""French sentence templates."""

GERMAN: tuple[str, ...] = (
    "Sehr geehrte(r) {PREFIX} {LASTNAME}, Ihr Ticket zum Anmeldeproblem wurde weitergeleitet. "
    "Wir rufen Sie vor {TIME} unter {PHONENUMBER} an.",
    "Hallo {FIRSTNAME}, bitte bestätigen Sie, dass {EMAIL} noch Ihre Adresse ist, {FIRSTNAME}.",
    "[dringend] Kunde {FIRSTNAME} {LASTNAME} meldet Abstürze der App beim Login von {IPV4}.",
    "Ihre Ersatzkarte mit der Endung {MASKEDNUMBER} wird an {STREET} {BUILDINGNUMBER}, "
    "{ZIPCODE} {CITY} geschickt. Ihre neue PIN lautet {PIN}.",
    "Mitarbeiter {FIRSTNAME} {LASTNAME} ({GENDER}, {AGE}) beginnt am {DATE} als {JOBTITLE} bei "
    "{COMPANYNAME}.",
    "Eine Zahlung von {AMOUNT}{CURRENCYSYMBOL} wurde am {DATE} von IBAN {IBAN} (BIC {BIC}) "
    "überwiesen.",
    "Termin bestätigt für {FIRSTNAME} {LASTNAME}, geboren am {DOB}, am {DATE} um {TIME} bei "
    "{PREFIX} {LASTNAME:2}.",
    "Patientenakte: {SEX}, Alter {AGE}, Größe {HEIGHT}, Augenfarbe {EYECOLOR}. Notfallkontakt: "
    "{PHONENUMBER}.",
    "Protokoll: Benutzer {USERNAME} hat sich von {IPV6} (MAC {MAC}) angemeldet und Dateien von "
    "{URL} geladen.",
    "Der Mieter {FIRSTNAME} {LASTNAME}, Sozialversicherungsnummer {SSN}, wohnhaft in {STREET} "
    "{BUILDINGNUMBER}, {CITY}, stimmt den Bedingungen zu [sic].",
    "Das Fahrzeug {VEHICLEVRM} (FIN {VEHICLEVIN}) wurde bei {NEARBYGPSCOORDINATE} gemeldet.",
    "Die Rechnung über {CURRENCYSYMBOL}{AMOUNT} von {PREFIX} {LASTNAME} ist am {DATE} fällig.",
    "Konto {ACCOUNTNUMBER} ({ACCOUNTNAME}) erhielt {AMOUNT} {CURRENCYCODE} von {FIRSTNAME} "
    "{LASTNAME}.",
)
"""German sentence templates."""

ITALIAN: tuple[str, ...] = (
    "Gentile {PREFIX} {LASTNAME}, la sua segnalazione sul problema di accesso è stata inoltrata. "
    "La chiameremo al {PHONENUMBER} prima delle {TIME}.",
    "Ciao {FIRSTNAME}, conferma che {EMAIL} è ancora il tuo indirizzo, {FIRSTNAME}.",
    "[urgente] Il cliente {FIRSTNAME} {LASTNAME} segnala che l'app si blocca all'accesso da "
    "{IPV4}.",
    "La nuova carta che termina con {MASKEDNUMBER} arriverà in {STREET} {BUILDINGNUMBER}, "
    "{ZIPCODE} {CITY}. Il nuovo PIN è {PIN}.",
    "Il dipendente {FIRSTNAME} {LASTNAME} ({GENDER}, {AGE}) entra in {COMPANYNAME} come "
    "{JOBTITLE} il {DATE}.",
    "Un pagamento di {CURRENCYSYMBOL}{AMOUNT} è partito dall'IBAN {IBAN} (BIC {BIC}) il {DATE}.",
    "Appuntamento confermato per {FIRSTNAME} {LASTNAME}, nato il {DOB}, il {DATE} alle {TIME} "
    "con {PREFIX} {LASTNAME:2}.",
    "Cartella clinica: {SEX}, età {AGE}, altezza {HEIGHT}, occhi {EYECOLOR}. Contatto: "
    "{PHONENUMBER}.",
    "Registro: l'utente {USERNAME} si è collegato da {IPV6} (MAC {MAC}) e ha scaricato file da "
    "{URL}.",
    "L'inquilino {FIRSTNAME} {LASTNAME}, codice {SSN}, residente in {STREET} {BUILDINGNUMBER}, "
    "{CITY}, accetta le condizioni [sic].",
    "Il veicolo targato {VEHICLEVRM} (telaio {VEHICLEVIN}) è stato visto vicino a "
    "{NEARBYGPSCOORDINATE}.",
    "La fattura di {AMOUNT} {CURRENCYSYMBOL} di {PREFIX} {LASTNAME} scade il {DATE}.",
    "Il conto {ACCOUNTNUMBER} ({ACCOUNTNAME}) ha ricevuto {AMOUNT} {CURRENCYCODE} da {FIRSTNAME} "
    "{LASTNAME}.",
)
"""Italian sentence templates."""

TEMPLATES_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    "en": TEMPLATES,
    "fr": FRENCH,
    "de": GERMAN,
    "it": ITALIAN,
}
"""The templates of each supported language (keys are the generator's ``LOCALES``)."""
