"""Privacy beyond Colab: messages from Kaggle, Databricks, SageMaker, Azure ML, JupyterHub, OneDrive and
iCloud folders, and from the libraries people use there, as our client scrubs them and as the server does.

Each row of ``CASES`` is a platform (the machine our client runs on), a raw text (a message or a cell's
first line) and what our client sends of it. The server knows neither the user nor the machine; from the
raw text (what a 0.1 client sends) it must come to the same, or to the row's own server text. Nothing of
``NEVER`` may survive either. ``ORDINARY`` holds text that must stay exactly as it is everywhere. The last
tests make their messages with the real libraries (subprocess, pydantic, SQLAlchemy, requests).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import List, NamedTuple, Optional

import pydantic
import pytest
import requests
import sqlalchemy
from fake_secrets import (
    AWS_SECRET,
    DATABRICKS,
    DISCORD,
    E_MAIL,
    KAGGLE,
    KEY_FORMATS,
    NGROK,
    ORG_NAME,
    PASSWORD,
    SENDGRID,
    TELEGRAM,
    TWILIO_KEY_SECRET,
    TWILIO_KEY_SID,
    TWILIO_SID,
    TWILIO_TOKEN,
    URL_E_MAIL,
    USER_NAME,
    WANDB,
)

from notebook_error_reporter.privacy import EMAIL, ORG, REDACTED, USER, PrivacyContext, scrub_text
from notebook_error_reporter.serverside import schemas
from notebook_error_reporter.serverside.scrub import report_context, scrub

PLATFORMS = {
    "kaggle": PrivacyContext(home="/root", user="root", hostname="5c8f0e2a91d3"),
    "databricks": PrivacyContext(home="/root", user="root", hostname="1204-093815-abcd1234-10-172-2-14"),
    "sagemaker": PrivacyContext(home="/home/ec2-user", user="ec2-user", hostname="ip-172-16-42-7"),
    "azureml": PrivacyContext(home="/home/azureuser", user="azureuser", hostname="hkowalski-gpu"),
    "jupyterhub": PrivacyContext(home="/home/jovyan", user="jovyan", hostname="jupyter-hkowalski"),
    "windows": PrivacyContext(home="C:\\Users\\hkowalski", user="hkowalski", hostname="CONTOSO-LT-0042"),
    "mac": PrivacyContext(home="/Users/hkowalski", user="hkowalski", hostname="Hannas-MacBook-Pro"),
}

SECRETS = KEY_FORMATS + [PASSWORD, TWILIO_TOKEN, TWILIO_KEY_SECRET, NGROK, WANDB, KAGGLE, AWS_SECRET]
# What must never be sent: names, the organisation, every secret and a middle piece of it (so that a
# secret cut in two is caught too).
NEVER = [USER_NAME, "kowalski", "Hanna", "Contoso", E_MAIL, ORG_NAME, "Wombat"] + [
    piece for secret in SECRETS for piece in (secret, secret[len(secret) // 3 : len(secret) // 3 + 8])
]


class Case(NamedTuple):
    platform: str
    raw: str
    client: str
    server: Optional[str] = None  # when the server, knowing less, sends something else


CASES: List[Case] = [
    # Kaggle: credentials in kaggle.json and the environment; datasets and output under /kaggle
    Case(
        "kaggle",
        f'!echo \'{{"username":"{USER_NAME}","key":"{KAGGLE}"}}\' > ~/.kaggle/kaggle.json',
        f'!echo \'{{"username":"{USER}","key":"{REDACTED}"}}\' > kaggle.json',
    ),
    Case("kaggle", f"%env KAGGLE_KEY {KAGGLE}", f"%env KAGGLE_KEY {REDACTED}"),
    Case("kaggle", f"%env KAGGLE_USERNAME {USER_NAME}", f"%env KAGGLE_USERNAME {REDACTED}"),
    Case(
        "kaggle",
        f"os.environ['KAGGLE_USERNAME'] = '{USER_NAME}'",
        f"os.environ['KAGGLE_USERNAME'] = '{USER}'",
    ),
    Case(
        "kaggle", f"login(username={USER_NAME}, password=pw)", f"login(username={USER}, password={REDACTED})"
    ),
    Case("kaggle", f"os.environ['KAGGLE_KEY'] = '{KAGGLE}'", f"os.environ['KAGGLE_KEY'] = '{REDACTED}'"),
    Case(
        "kaggle",
        f"[Errno 2] No such file or directory: '/kaggle/input/{USER_NAME}-trial-cohort/cohort.csv'",
        "[Errno 2] No such file or directory: 'cohort.csv'",
    ),
    Case("kaggle", "/kaggle/working/submission.csv exists", "submission.csv exists"),
    # Databricks: personal access tokens; workspace, repo and DBFS folders named after the user
    Case(
        "databricks",
        f'w = WorkspaceClient(host=host, token="{DATABRICKS}-3")',
        f'w = WorkspaceClient(host=host, token="{REDACTED}")',
    ),
    Case(
        "databricks",
        f"Unauthenticated: invalid access token {DATABRICKS}",
        f"Unauthenticated: invalid access token {REDACTED}",
    ),
    Case(
        "databricks",
        f"connect(server_hostname=h, http_path=p, access_token='{DATABRICKS}')",
        f"connect(server_hostname=h, http_path=p, access_token='{REDACTED}')",
    ),
    Case(
        "databricks",
        f"[Errno 2] No such file or directory: '/Workspace/Users/{E_MAIL}/trial/cohort.csv'",
        "[Errno 2] No such file or directory: 'cohort.csv'",
    ),
    Case(
        "databricks",
        f"[PATH_NOT_FOUND] Path does not exist: dbfs:/Users/{USER_NAME}/trial/cohort.parquet.",
        "[PATH_NOT_FOUND] Path does not exist: dbfs:cohort.parquet.",
    ),
    Case(
        "databricks",
        f"FileNotFoundError: /dbfs/FileStore/shared_uploads/{E_MAIL}/cohort.csv",
        "FileNotFoundError: cohort.csv",
    ),
    Case("databricks", f"cwd is /Workspace/Repos/{USER_NAME}", f"cwd is {USER}"),
    # SageMaker: AWS credentials on a command line, in a subprocess's argument list
    Case(
        "sagemaker",
        f"[Errno 13] Permission denied: '/home/ec2-user/SageMaker/{USER_NAME}-trial/model.pt'",
        "[Errno 13] Permission denied: 'model.pt'",
    ),
    Case(
        "sagemaker",
        f"Command '['aws', 'configure', 'set', 'aws_secret_access_key', '{AWS_SECRET}']' returned "
        "non-zero exit status 255.",
        f"Command '['aws', 'configure', 'set', 'aws_secret_access_key', '{REDACTED}']' "
        "returned non-zero exit status 255.",
    ),
    Case(
        "sagemaker",
        f"!aws configure set aws_secret_access_key {AWS_SECRET}",
        f"!aws configure set aws_secret_access_key {REDACTED}",
    ),
    Case(
        "sagemaker",
        f"Command '['mysql', '-u', 'trial', '--password', '{PASSWORD}', 'cohort']' returned non-zero "
        "exit status 1.",
        f"Command '['mysql', '-u', 'trial', '--password', '{REDACTED}', 'cohort']' returned "
        "non-zero exit status 1.",
    ),
    # Azure ML: the compute cluster and the user folder are both the user's names
    Case(
        "azureml",
        f"[Errno 2] No such file or directory: '/mnt/batch/tasks/shared/LS_root/mounts/clusters/"
        f"{USER_NAME}-gpu/code/Users/{USER_NAME}/trial/cohort.csv'",
        "[Errno 2] No such file or directory: 'cohort.csv'",
    ),
    Case(
        "azureml",
        f"cwd is /mnt/batch/tasks/shared/LS_root/mounts/clusters/{USER_NAME}-gpu/code/Users/{USER_NAME}",
        f"cwd is {USER}",
    ),
    # JupyterHub: /home/<user> (jovyan is everybody's)
    Case(
        "jupyterhub",
        f"PermissionError: [Errno 13] Permission denied: '/home/{USER_NAME}/shared/cohort.csv'",
        "PermissionError: [Errno 13] Permission denied: 'cohort.csv'",
    ),
    Case("jupyterhub", f"ls: cannot access '/home/{USER_NAME}'", f"ls: cannot access '{USER}'"),
    Case("jupyterhub", "cd /home/jovyan/work", "cd work"),
    # OneDrive (Windows and macOS) and iCloud folders
    Case(
        "windows",
        f"[Errno 2] No such file or directory: 'C:\\\\Users\\\\{USER_NAME}\\\\OneDrive - {ORG_NAME}"
        "\\\\Documents\\\\trial\\\\cohort.xlsx'",
        "[Errno 2] No such file or directory: 'cohort.xlsx'",
    ),
    Case("windows", f"C:\\Users\\{USER_NAME}\\OneDrive - {ORG_NAME}\\Documents\\trial.ipynb", "trial.ipynb"),
    Case("windows", f"cwd: C:\\Users\\{USER_NAME}\\OneDrive - {ORG_NAME}", f"cwd: OneDrive - {ORG}"),
    Case(
        "mac",
        f"[Errno 2] No such file or directory: '/Users/{USER_NAME}/Library/CloudStorage/"
        "OneDrive-ContosoPharma"
        "/Trial/cohort.csv'",
        "[Errno 2] No such file or directory: 'cohort.csv'",
    ),
    Case("mac", f"'/Users/{USER_NAME}/Library/CloudStorage/OneDrive-ContosoPharma'", f"'OneDrive-{ORG}'"),
    Case(
        "mac",
        f"[Errno 1] Operation not permitted: '/Users/{USER_NAME}/Library/Mobile Documents/com~apple~CloudDocs"
        "/Thesis/cohort.csv'",
        "[Errno 1] Operation not permitted: 'cohort.csv'",
    ),
    Case("mac", "%cd ~/Library/Mobile Documents/com~apple~CloudDocs/Thesis", "%cd Thesis"),
    # ODBC connection strings: braced values, values with spaces, the user
    Case(
        "windows",
        f"conn = pyodbc.connect('DRIVER={{ODBC Driver 18 for SQL Server}};SERVER=tcp:sql.example.net;"
        f"UID={USER_NAME};PWD={{Pl4typ;us}}}}Wombat}};')",
        f"conn = pyodbc.connect('DRIVER={{ODBC Driver 18 for SQL Server}};SERVER=tcp:sql.example.net;"
        f"UID={USER};PWD={REDACTED};')",
    ),
    Case(
        "windows",
        'pyodbc.connect("Driver={SQL Server};Server=db;Database=trial;Uid=Hanna;Pwd=my Wombat pass")',
        f'pyodbc.connect("Driver={{SQL Server}};Server=db;Database=trial;Uid={USER};Pwd={REDACTED}")',
    ),
    # Twilio, SendGrid, Discord, Telegram, ngrok, Weights & Biases
    Case(
        "kaggle",
        f"client = Client('{TWILIO_SID}', '{TWILIO_TOKEN}')",
        f"client = Client('{REDACTED}', '{REDACTED}')",
    ),
    Case(
        "kaggle",
        f'client = Client("{TWILIO_KEY_SID}", "{TWILIO_KEY_SECRET}", "{TWILIO_SID}")',
        f'client = Client("{REDACTED}", "{REDACTED}", "{REDACTED}")',
    ),
    Case(
        "kaggle",
        f"HTTP 404 error: Unable to fetch record: https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}"
        "/Messages.json",
        f"HTTP 404 error: Unable to fetch record: https://api.twilio.com/2010-04-01/Accounts/"
        f"{REDACTED}/Messages.json",
    ),
    Case(
        "kaggle",
        f"HTTP Error 401: Unauthorized with SendGridAPIClient('{SENDGRID}')",
        f"HTTP Error 401: Unauthorized with SendGridAPIClient('{REDACTED}')",
    ),
    Case(
        "kaggle",
        f"LoginFailure: Improper token has been passed. bot.run('{DISCORD}')",
        f"LoginFailure: Improper token has been passed. bot.run('{REDACTED}')",
    ),
    Case(
        "kaggle",
        f"HTTPSConnectionPool(host='api.telegram.org', port=443): Max retries exceeded with url: "
        f"https://api.telegram.org/bot{TELEGRAM}/sendMessage?chat_id=42",
        "HTTPSConnectionPool(host='api.telegram.org', port=443): Max retries exceeded with url: "
        f"https://api.telegram.org/bot{REDACTED}/sendMessage?chat_id=42",
    ),
    Case(
        "kaggle",
        f"InvalidToken: {TELEGRAM} was rejected by the server",
        f"InvalidToken: {REDACTED} was rejected by the server",
    ),
    Case("kaggle", f"!ngrok config add-authtoken {NGROK}", f"!ngrok config add-authtoken {REDACTED}"),
    Case("kaggle", f"!ngrok authtoken {NGROK}", f"!ngrok authtoken {REDACTED}"),
    Case("kaggle", f'ngrok.set_auth_token("{NGROK}")', f'ngrok.set_auth_token("{REDACTED}")'),
    Case(
        "kaggle",
        f"authentication failed: The authtoken you specified is invalid. Your authtoken: {NGROK}",
        f"authentication failed: The authtoken you specified is invalid. Your authtoken: {REDACTED}",
    ),
    Case("kaggle", f"!wandb login {WANDB}", f"!wandb login {REDACTED}"),
    Case("kaggle", f'wandb.login(key="{WANDB}")', f'wandb.login(key="{REDACTED}")'),
    Case(
        "kaggle",
        f"wandb.errors.AuthenticationError: API key {WANDB} is invalid",
        f"wandb.errors.AuthenticationError: API key {REDACTED} is invalid",
    ),
    Case("kaggle", f"%env WANDB_API_KEY={WANDB}", f"%env WANDB_API_KEY={REDACTED}"),
    Case("kaggle", f"%env OPENAI_API_KEY {PASSWORD}", f"%env OPENAI_API_KEY {REDACTED}"),
    Case("kaggle", f"%set_env HF_TOKEN {PASSWORD}", f"%set_env HF_TOKEN {REDACTED}"),
    # .netrc lines, SQL, SQLAlchemy's parameters, basic auth, keyring, pydantic's input values
    Case(
        "kaggle",
        f'!echo "machine api.wandb.ai login user password {WANDB}" >> ~/.netrc',
        f'!echo "machine api.wandb.ai login {REDACTED} password {REDACTED}" >> .netrc',
    ),
    Case(
        "kaggle",
        f"machine urs.earthdata.nasa.gov login {USER_NAME} password {PASSWORD}",
        f"machine urs.earthdata.nasa.gov login {REDACTED} password {REDACTED}",
    ),
    Case(
        "kaggle",
        f'syntax error at or near "PASWORD"\n'
        f"LINE 1: CREATE USER {USER_NAME} WITH PASWORD PASSWORD '{PASSWORD}'",
        f"syntax error at or near \"PASWORD\"\nLINE 1: CREATE USER {USER} WITH PASWORD PASSWORD '{REDACTED}'",
    ),
    Case("kaggle", f'DROP ROLE IF EXISTS "{USER_NAME}"', f'DROP ROLE IF EXISTS "{USER}"'),
    Case(
        "kaggle",
        f"ALTER USER 'hanna'@'%' IDENTIFIED BY '{PASSWORD}';",
        f"ALTER USER '{USER}'@'%' IDENTIFIED BY '{REDACTED}';",
    ),
    Case(
        "kaggle",
        "(sqlite3.IntegrityError) UNIQUE constraint failed: users.email\n[SQL: INSERT INTO users (email, "
        f"password) VALUES (?, ?)]\n[parameters: ('{E_MAIL}', '{PASSWORD}')]\n(Background on this error at: "
        "https://sqlalche.me/e/20/gkpj)",
        "(sqlite3.IntegrityError) UNIQUE constraint failed: users.email\n[SQL: "
        f"INSERT INTO users (email, password) VALUES (?, ?)]\n[parameters: {REDACTED}]\n"
        "(Background on this error at: "
        "https://sqlalche.me/e/20/gkpj)",
    ),
    Case(
        "kaggle",
        "(psycopg2.errors.UniqueViolation) duplicate key\n[parameters: {'name': 'Hanna', 'pw': 'Wombat'}]",
        f"(psycopg2.errors.UniqueViolation) duplicate key\n[parameters: {REDACTED}]",
    ),
    Case(
        "kaggle",
        f"404 Client Error: Not Found for url: https://crm.example.net/contacts?email={URL_E_MAIL}",
        f"404 Client Error: Not Found for url: https://crm.example.net/contacts?email={EMAIL}",
    ),
    Case(
        "kaggle",
        f"r = requests.get(url, auth=HTTPBasicAuth('{USER_NAME}', '{PASSWORD}'))",
        f"r = requests.get(url, auth=HTTPBasicAuth('{REDACTED}', '{REDACTED}'))",
    ),
    Case(
        "kaggle",
        f"keyring.set_password('trial-db', '{USER_NAME}', '{PASSWORD}')",
        f"keyring.set_password('{REDACTED}', '{REDACTED}', '{REDACTED}')",
    ),
    Case(
        "kaggle",
        "1 validation error for Settings\ndatabase_url\n  Input should be a valid URL [type=url_parsing, "
        f"input_value='{PASSWORD}', input_type=str]",
        "1 validation error for Settings\ndatabase_url\n  Input should "
        f"be a valid URL [type=url_parsing, input_value={REDACTED}, input_type=str]",
    ),
    Case(
        "kaggle",
        "Field required [type=missing, input_value={'mrn': '00428113', 'name': 'Hanna'}, input_type=dict]",
        f"Field required [type=missing, input_value={REDACTED}, input_type=dict]",
    ),
]


def client_text(case: Case) -> str:
    return scrub_text(case.raw, PLATFORMS[case.platform])


def server_text(raw: str) -> str:
    """What the server stores of a raw message (a 0.1 client's, or anyone's that did not scrub)."""
    return scrub(raw, schemas.MAX_MESSAGE, report_context(raw))


def case_id(case: Case) -> str:
    return f"{case.platform}-{CASES.index(case)}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_client_sends_only_what_the_row_says(case: Case) -> None:
    assert client_text(case) == case.client


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_server_makes_raw_text_as_safe(case: Case) -> None:
    assert server_text(case.raw) == (case.server if case.server is not None else case.client)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_scrubbed_text_passes_the_server_unchanged(case: Case) -> None:
    """Our client's report is stored as it was sent: the rules change nothing they made."""
    assert server_text(case.client) == case.client
    assert client_text(case._replace(raw=case.client)) == case.client


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_no_name_org_or_secret_survives(case: Case) -> None:
    sent = (client_text(case), server_text(case.raw))
    assert [word for word in NEVER for text in sent if word.casefold() in text.casefold()] == []


# --- ordinary text of the same platforms and libraries stays readable ---------------------------------------

ORDINARY = [
    # versions with four parts are no IP addresses
    "ERROR: Could not find a version that satisfies the requirement nvidia-cudnn-cu12==8.9.2.26 "
    "(from versions: 8.9.4.25, 8.9.5.29, 9.0.0.312)",
    "torch 2.1.0 requires nvidia-cudnn-cu12==8.9.2.26, but you have nvidia-cudnn-cu12 9.1.0.70 "
    "which is incompatible.",
    "Successfully installed nvidia-cublas-cu12-12.1.3.1 nvidia-cudnn-cu12-8.9.2.26 nvidia-nccl-cu12-2.18.1",
    "Found existing installation: nvidia-cudnn-cu12 8.9.2.26",
    "tensorrt>=8.6.1.6 and TensorRT version 8.6.1.6",
    # literals and names after a secret's name are no secrets
    "model = AutoModelForCausalLM.from_pretrained(name, token=True, use_auth_token=None)",
    "login(token=False, add_to_git_credential=True)",
    "tokenizer.pad_token = tokenizer.eos_token",
    "pad_token = eos_token",
    "client = OpenAI(api_key=OPENAI_API_KEY)",
    "api_key=os.environ.get('OPENAI_API_KEY'), token=self.hf_token",
    "Asking to pad but the tokenizer does not have a padding token. Please select a token to use as "
    "`pad_token` "
    "`(tokenizer.pad_token = tokenizer.eos_token e.g.)` or add a new pad token via "
    "`tokenizer.add_special_tokens({'pad_token': '[PAD]'})`.",
    "tokenizer(text, eos_token='</s>', pad_token='<|endoftext|>')",
    # names in argument lists, prose after secret names, calls without literals
    "KeyError: \"['password', 'email'] not in index\"",
    "Command '['ngrok', 'authtoken']' returned non-zero exit status 1.",
    "auth_token expired 2 days ago; token type bearer",
    "r = requests.get(url, auth=HTTPBasicAuth(user, password))",
    "set_password() missing 1 required positional argument: 'password'",
    "wandb: ERROR api_key not configured (no-tty). call wandb.login(key=[your_api_key])",
    "Azure Machine Learning login failed: machine learning workspace not found",
    "OneDrive sync is paused",
    "Field required [type=missing, input_value={}, input_type=dict]",
    "Input should be a valid integer [type=int_type, input_value=None, input_type=NoneType]",
    "%env NOTEBOOK_ERROR_REPORTER_DISABLE=1",
    "Invalid key: 'name' and {'key': 'protein_id'}",
    "KeyError: 'username'; username=None; username = getpass.getuser(); if username == 'admin':",
]


@pytest.mark.parametrize("text", ORDINARY)
@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_ordinary_text_is_left_alone_by_the_client(text: str, platform: str) -> None:
    assert scrub_text(text, PLATFORMS[platform]) == text


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_alone_by_the_server(text: str) -> None:
    assert server_text(text) == text


# --- messages made by the real libraries ---------------------------------------------------------------


def scrubbed_both_ways(message: str) -> List[str]:
    return [scrub_text(message, PLATFORMS["sagemaker"]), server_text(message)]


def test_a_failed_command_keeps_its_exit_status_and_loses_its_secrets() -> None:
    command = [sys.executable, "-c", "raise SystemExit(3)", "configure", "set", "aws_secret_access_key",
               AWS_SECRET, "--password", PASSWORD]  # fmt: skip
    with pytest.raises(subprocess.CalledProcessError) as raised:
        subprocess.run(command, check=True)
    message = str(raised.value)
    assert AWS_SECRET in message and PASSWORD in message
    for text in scrubbed_both_ways(message):
        assert AWS_SECRET not in text and PASSWORD not in text
        assert "'aws_secret_access_key', '<redacted>'" in text and "'--password', '<redacted>'" in text
        assert text.endswith("returned non-zero exit status 3.")


def test_pydantic_keeps_the_field_and_loses_the_input() -> None:
    class Settings(pydantic.BaseModel):
        port: int
        owner: str
        debug: bool = False

    with pytest.raises(pydantic.ValidationError) as raised:
        Settings.model_validate({"port": PASSWORD, "owner": 42, "debug": None})
    message = str(raised.value)
    assert PASSWORD in message
    for text in scrubbed_both_ways(message):
        assert PASSWORD not in text and "input_value=42" not in text
        assert "3 validation errors for Settings" in text and "port\n" in text
        assert f"input_value={REDACTED}, input_type=str]" in text


def test_sqlalchemy_keeps_the_statement_and_loses_the_parameters() -> None:
    engine = sqlalchemy.create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("CREATE TABLE users (email TEXT UNIQUE, password TEXT)"))
        insert = sqlalchemy.text("INSERT INTO users (email, password) VALUES (:email, :password)")
        connection.execute(insert, {"email": E_MAIL, "password": PASSWORD})
        with pytest.raises(sqlalchemy.exc.IntegrityError) as raised:
            connection.execute(insert, {"email": E_MAIL, "password": PASSWORD})
    message = str(raised.value)
    assert PASSWORD in message and "[parameters: (" in message
    for text in scrubbed_both_ways(message):
        assert PASSWORD not in text and "kowalski" not in text
        assert "UNIQUE constraint failed: users.email" in text
        assert "[SQL: INSERT INTO users (email, password) VALUES (?, ?)]" in text
        assert f"[parameters: {REDACTED}]" in text


def test_requests_to_a_telegram_bot_url_lose_the_token() -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(requests.ConnectionError) as raised:
        requests.get(f"http://127.0.0.1:{port}/bot{TELEGRAM}/getMe?email={URL_E_MAIL}", timeout=5)
    message = str(raised.value)
    assert TELEGRAM in message
    for text in scrubbed_both_ways(message):
        assert TELEGRAM not in text and "kowalski" not in text
        assert "Max retries exceeded" in text and f"email={EMAIL}" in text
