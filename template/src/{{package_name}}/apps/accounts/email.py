"""Email addresses as the accounts app accepts them, from the API and from `createuser` alike."""

from typing import Annotated

from email_validator import EmailNotValidError
from email_validator import validate_email as check_syntax
from pydantic import AfterValidator, StringConstraints, WithJsonSchema


def validate_email(value: str) -> str:
    """`value`, normalized, if it is an email address by its syntax; ValueError, in one line, if
    not. One address has one normalized form, whichever way its Unicode is composed (NFC or
    NFD) and its domain spelled (bücher.example or xn--bcher-kva.example), so that the unique
    email column sees one address as one."""
    try:
        # Syntax only: no DNS lookup, and domains that are not deliverable on the internet
        # (mail.internal, example.test) are taken too, as the schema's `format: email` does.
        checked = check_syntax(
            value, check_deliverability=False, globally_deliverable=False, test_environment=True
        )
    except EmailNotValidError as error:
        raise ValueError(f"not an email address: {error}") from None
    # RFC 5321's limit, which the syntax check leaves to the mail server.
    if len(checked.local_part) > 64:
        raise ValueError("not an email address: the part before the @ is over 64 characters")
    return checked.normalized


#: RFC 5321 caps an address at 254 characters; the column holds 320.
Email = Annotated[
    str,
    StringConstraints(max_length=254),
    AfterValidator(validate_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]
