"""Forms for connecting an external calendar: by its URL, or by uploading its .ics file."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import Field, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from clinic.calendars.fetch import FetchError, check_url, normalise_url, too_large


def _squeeze_spaces(value: str | None) -> str | None:
    return " ".join(value.split()) if value else value


def _name_field() -> StringField:
    return StringField(
        _l("Name"),
        validators=[
            DataRequired(_l("Give the calendar a name.")),
            Length(max=100, message=_l("At most 100 characters.")),
        ],
        filters=[_squeeze_spaces],
        description=_l("For you and the admins, e.g. 'Private' or 'Teaching'."),
    )


class UrlSourceForm(FlaskForm):
    """A calendar given by the address of its .ics file, fetched at once and then regularly."""

    name = _name_field()
    url = StringField(
        _l("Address of the calendar (iCal format)"),
        validators=[
            DataRequired(_l("Give the calendar's address.")),
            Length(max=2000, message=_l("At most 2000 characters.")),
        ],
        filters=[lambda value: normalise_url(value) if value else value],
        description=_l(
            "The private or secret address in iCal format that your calendar program shows, "
            "starting with https:// or webcal://. Keep it secret: after saving, only its host "
            "is shown here."
        ),
    )
    submit = SubmitField(_l("Connect calendar"))

    def validate_url(self, field: Field) -> None:
        try:
            check_url(field.data)
        except FetchError as exc:
            raise ValidationError(str(exc)) from None


class _FileForm(FlaskForm):
    """Reads the chosen file, at most `max_bytes` of it; after validation `content` holds it."""

    def __init__(self, *args: Any, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes
        self.content = b""

    def validate_file(self, field: Field) -> None:
        content = field.data.read(self.max_bytes + 1)
        if len(content) > self.max_bytes:
            raise ValidationError(too_large(self.max_bytes))
        if not content.strip():
            raise ValidationError(_("The file is empty."))
        self.content = content


def _file_field() -> FileField:
    return FileField(
        _l("iCalendar file (.ics)"),
        validators=[FileRequired(_l("Choose the .ics file to upload."))],
        render_kw={"accept": ".ics,.ical,.ifb,text/calendar"},
    )


class UploadSourceForm(_FileForm):
    """A calendar uploaded as a file; it stays as it is until a new file is uploaded."""

    name = _name_field()
    file = _file_field()
    submit = SubmitField(_l("Upload calendar"))


class ReplaceUploadForm(_FileForm):
    """A new version of an uploaded calendar's file."""

    file = _file_field()
    submit = SubmitField(_l("Upload new version"))
