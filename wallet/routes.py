"""The wallet API under ``/wallet``: accounts, credentials, holder keys, skills, export/import.

Every route but registration, login, refresh, logout and email verification takes the current
learner from the access token and reads or changes only that learner's rows (another learner's
id answers 404). Handlers are short: parse, call one use case, return a public model.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from wallet import accounts, erasure, portability, storage
from wallet.context import CurrentLearner, SessionDep, WalletDep
from wallet.errors import InvalidLogin, UnsupportedInput
from wallet.holder import holder_dids
from wallet.models import (
    CredentialDetail,
    CredentialPage,
    CredentialSummary,
    EmailTokenIn,
    ExportIn,
    ForgotPasswordIn,
    HolderKeyPublic,
    ImportedOut,
    LearnerPublic,
    LoginIn,
    PasswordChangeIn,
    PasswordIn,
    PasswordResetIn,
    RefreshIn,
    RegisteredOut,
    RegisterIn,
    SkillsProfile,
    TokenOut,
)
from wallet.profile import skills_profile

router = APIRouter(prefix="/wallet", tags=["wallet"])
MAX_UPLOAD_BYTES = storage.MAX_CREDENTIAL_BYTES
ARCHIVE_MEDIA_TYPE = "application/vnd.taito.wallet-archive"
CREDENTIAL_MEDIA_TYPES = {
    "application/json",
    "application/ld+json",
    "application/vc+ld+json",
    "application/vc",
    "application/vc+jwt",
    "application/jwt",
    "application/dc+sd-jwt",
    "application/vc+sd-jwt",
    "image/png",
    "image/svg+xml",
}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No, expired or invalid access token (problem+json)"},
    404: {"description": "Not found, or another learner's (problem+json)"},
}
IMPORT_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"type": "object", "description": "a JSON-LD credential"}},
        "application/vc+jwt": {"schema": {"type": "string"}},
        "application/dc+sd-jwt": {"schema": {"type": "string"}},
        "text/plain": {"schema": {"type": "string", "description": "a JWT or SD-JWT"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/svg+xml": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "credential": {"type": "string"},
                },
            }
        },
    },
}


def _tokens(pair: accounts.TokenPair) -> TokenOut:
    return TokenOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        token_type=pair.token_type,
        expires_in=pair.expires_in,
    )


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --- accounts -----------------------------------------------------------------------------


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    summary="Create a learner account (a verification mail goes to the outbox)",
    responses={
        409: {"description": "An account with this email exists"},
        429: {"description": "Too many failed attempts (taken addresses count as failed sign-ins)"},
    },
)
def register(
    body: RegisterIn, request: Request, context: WalletDep, session: SessionDep
) -> RegisteredOut:
    learner = accounts.register(
        session, context, body.email, body.password, body.display_name, client=_client(request)
    )
    pair = accounts.issue_tokens(session, context, learner)
    return RegisteredOut(learner=LearnerPublic.of(learner), tokens=_tokens(pair))


@router.post(
    "/auth/login",
    summary="Sign in: an access token and a refresh token",
    responses={401: PROBLEMS[401], 429: {"description": "Too many failed sign-ins"}},
)
def login(body: LoginIn, request: Request, context: WalletDep, session: SessionDep) -> TokenOut:
    return _tokens(accounts.login(session, context, body.email, body.password, _client(request)))


@router.post(
    "/auth/refresh",
    summary="Rotate a refresh token (a reused one revokes its whole family)",
    responses={401: PROBLEMS[401]},
)
def refresh(body: RefreshIn, context: WalletDep, session: SessionDep) -> TokenOut:
    return _tokens(accounts.refresh(session, context, body.refresh_token))


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a refresh token and every token of its sign-in",
)
def logout(body: RefreshIn, context: WalletDep, session: SessionDep) -> Response:
    accounts.logout(session, context, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke every refresh token of the account (all sign-ins, all devices)",
    responses={401: PROBLEMS[401]},
)
def logout_all(learner: CurrentLearner, context: WalletDep, session: SessionDep) -> Response:
    accounts.logout_everywhere(session, context, learner)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/auth/verify-email", summary="Confirm the email address with the mailed token")
def verify_email(body: EmailTokenIn, context: WalletDep, session: SessionDep) -> LearnerPublic:
    return LearnerPublic.of(accounts.verify_email(session, context, body.token))


@router.get("/verify-email", summary="The link of the verification mail")
def verify_email_link(
    token: Annotated[str, Query(min_length=1, max_length=200)],
    context: WalletDep,
    session: SessionDep,
) -> LearnerPublic:
    return LearnerPublic.of(accounts.verify_email(session, context, token))


@router.post(
    "/auth/resend-verification",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail a new verification link",
    response_class=Response,
    responses={202: {"description": "Queued (no body)"}, 401: PROBLEMS[401]},
)
def resend_verification(
    learner: CurrentLearner, context: WalletDep, session: SessionDep
) -> Response:
    accounts.resend_verification(session, context, learner)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/auth/password",
    summary="Change the password (every other sign-in ends; fresh tokens for this one)",
    responses={401: PROBLEMS[401], 429: {"description": "Too many wrong passwords"}},
)
def change_password(
    body: PasswordChangeIn,
    request: Request,
    learner: CurrentLearner,
    context: WalletDep,
    session: SessionDep,
) -> TokenOut:
    return _tokens(
        accounts.change_password(
            session, context, learner, body.current_password, body.new_password, _client(request)
        )
    )


@router.post(
    "/auth/forgot-password",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail a password reset code (the same answer whether or not the address has an account)",
    response_class=Response,
    responses={202: {"description": "Accepted (no body)"}},
)
def forgot_password(body: ForgotPasswordIn, context: WalletDep, session: SessionDep) -> Response:
    accounts.request_password_reset(session, context, body.email)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/auth/reset-password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with the mailed reset code (every sign-in ends)",
    responses={400: {"description": "The reset code is unknown, used or expired"}},
)
def reset_password(body: PasswordResetIn, context: WalletDep, session: SessionDep) -> Response:
    accounts.reset_password(session, context, body.token, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", summary="The signed-in learner", responses={401: PROBLEMS[401]})
def me(learner: CurrentLearner) -> LearnerPublic:
    return LearnerPublic.of(learner)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete the account and everything in it (asks for the password)",
    responses={401: PROBLEMS[401]},
)
def delete_me(
    body: PasswordIn, learner: CurrentLearner, context: WalletDep, session: SessionDep
) -> Response:
    if not accounts.check_password(context, learner, body.password):
        raise InvalidLogin("The password is wrong: the account was not deleted.")
    erasure.delete_account(session, context, learner)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- credentials --------------------------------------------------------------------------


async def _read_credential(request: Request) -> tuple[bytes, str | None]:
    """The credential bytes exactly as sent, and the declared media type when it names one."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=5) as form:
            upload = form.get("file")
            if upload is not None and not isinstance(upload, str):
                declared = (upload.content_type or "").split(";")[0].strip().lower()
                data = await upload.read(MAX_UPLOAD_BYTES + 1)
                return data, declared if declared in CREDENTIAL_MEDIA_TYPES else None
            field = form.get("credential")
            if isinstance(field, str) and field:
                return field.encode("utf-8"), None
        raise UnsupportedInput("Send a credential: a 'file' or a 'credential' form field.")
    body = await request.body()
    return body, content_type if content_type in CREDENTIAL_MEDIA_TYPES else None


@router.post(
    "/credentials",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": IMPORT_BODY},
    summary="Import a credential of any supported format (verified on import)",
    responses={
        401: PROBLEMS[401],
        409: {"description": "Already in the wallet; 'existing' names it"},
        422: {"description": "Did not verify (with the report) or not a credential"},
    },
)
async def import_credential(
    request: Request,
    response: Response,
    learner: CurrentLearner,
    context: WalletDep,
    session: SessionDep,
    accept_unverified: bool = False,
) -> CredentialDetail:
    raw, media_type = await _read_credential(request)

    def run() -> CredentialDetail:
        row = storage.import_credential(
            session,
            context,
            learner,
            raw,
            media_type=media_type,
            accept_unverified=accept_unverified,
        )
        session.commit()
        return CredentialDetail.of(row)

    # Verification does blocking I/O (did:web, status lists): keep it off the event loop.
    detail = await run_in_threadpool(run)
    response.headers["Location"] = f"/wallet/credentials/{detail.id}"
    return detail


@router.get(
    "/credentials",
    summary="List and search the learner's credentials (newest first, paged)",
    responses={401: PROBLEMS[401]},
)
def list_credentials(
    learner: CurrentLearner,
    session: SessionDep,
    q: Annotated[
        str | None, Query(max_length=200, description="words in name, issuer, skills")
    ] = None,
    issuer: Annotated[str | None, Query(max_length=2048)] = None,
    status_: Annotated[storage.Status | None, Query(alias="status")] = None,
    format: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CredentialPage:
    page = storage.list_credentials(
        session,
        learner,
        storage.CredentialQuery(
            q=q or None, issuer=issuer, status=status_, format=format, limit=limit, offset=offset
        ),
    )
    return CredentialPage(
        items=[CredentialSummary.of(row) for row in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        next_offset=page.next_offset,
    )


@router.get(
    "/credentials/{credential_id}",
    summary="One credential: metadata and the last verification report",
    responses=PROBLEMS,
)
def get_credential(
    credential_id: str, learner: CurrentLearner, session: SessionDep
) -> CredentialDetail:
    return CredentialDetail.of(storage.get_credential(session, learner, credential_id))


@router.get(
    "/credentials/{credential_id}/raw",
    summary="The credential exactly as received (bytes as signed)",
    responses=PROBLEMS,
    response_class=Response,
)
def get_raw(
    credential_id: str, learner: CurrentLearner, context: WalletDep, session: SessionDep
) -> Response:
    decrypted = storage.get_decrypted(session, context, learner, credential_id)
    return Response(
        decrypted.raw,
        media_type=decrypted.media_type,
        headers={"Cache-Control": "no-store"},
    )


@router.post(
    "/credentials/{credential_id}/status",
    summary="Verify the credential again now (status lists fetched anew)",
    responses=PROBLEMS,
)
def recheck(
    credential_id: str, learner: CurrentLearner, context: WalletDep, session: SessionDep
) -> CredentialDetail:
    row = storage.recheck(
        session, context, learner, storage.get_credential(session, learner, credential_id)
    )
    session.commit()
    return CredentialDetail.of(row)


@router.delete(
    "/credentials/{credential_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a credential from the wallet",
    responses=PROBLEMS,
)
def delete_credential(credential_id: str, learner: CurrentLearner, session: SessionDep) -> Response:
    storage.delete_credential(session, learner, credential_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- keys, profile, portability -----------------------------------------------------------


@router.get(
    "/keys", summary="The learner's holder keys (DIDs, public JWKs)", responses={401: PROBLEMS[401]}
)
def keys(learner: CurrentLearner, context: WalletDep, session: SessionDep) -> list[HolderKeyPublic]:
    return [HolderKeyPublic(**entry) for entry in holder_dids(session, context, learner)]


@router.get(
    "/profile/skills",
    summary="Skills, ECTS credits, EQF levels and fields of study across all credentials",
    responses={401: PROBLEMS[401]},
)
def profile_skills(learner: CurrentLearner, session: SessionDep) -> SkillsProfile:
    return skills_profile(session, learner)


@router.post(
    "/export",
    summary="Everything in the wallet as one archive encrypted with a passphrase",
    response_class=Response,
    responses={401: PROBLEMS[401], 200: {"content": {ARCHIVE_MEDIA_TYPE: {}}}},
)
def export(
    body: ExportIn, learner: CurrentLearner, context: WalletDep, session: SessionDep
) -> Response:
    archive = portability.export_archive(session, context, learner, body.passphrase)
    return Response(
        archive,
        media_type=ARCHIVE_MEDIA_TYPE,
        headers={
            "Content-Disposition": 'attachment; filename="taito-wallet.taito"',
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/import",
    summary="Import a wallet archive (multipart: file, passphrase); all or nothing",
    responses={
        401: PROBLEMS[401],
        400: {"description": "Wrong passphrase (nothing imported)"},
        422: {"description": "Not a Taito wallet archive"},
    },
)
async def import_archive(
    request: Request, learner: CurrentLearner, context: WalletDep, session: SessionDep
) -> ImportedOut:
    async with request.form(max_files=1, max_fields=3) as form:
        upload, passphrase = form.get("file"), form.get("passphrase")
        if upload is None or isinstance(upload, str) or not isinstance(passphrase, str):
            raise UnsupportedInput("Send the archive as 'file' and the 'passphrase' field.")
        archive = await upload.read()
    result = await run_in_threadpool(
        portability.import_archive, session, context, learner, archive, passphrase
    )
    return ImportedOut(
        imported=result.imported,
        skipped_duplicates=result.skipped_duplicates,
        unverified=result.unverified,
        holder_keys=result.holder_keys,
    )
