"""Realistic fake secrets and personal data for the privacy tests, built from pieces so that no
scanner mistakes this file for a leak."""

USER_NAME = "hkowalski"
E_MAIL = "hanna.kowalski@" + "contoso-pharma.example"
URL_E_MAIL = E_MAIL.replace("@", "%40")  # as in a query string
ORG_NAME = "Contoso Pharmaceuticals International GmbH"
PASSWORD = "Pl4typ0s-" + "Wombat"
TWILIO_SID = "AC" + "3f9b2c4e1d7a8065b3c9e2f4a1d7b806"
TWILIO_TOKEN = "d2f4a1c9e7b3058a" + "6c1e9f2b4d7a3c50"
TWILIO_KEY_SID = "SK" + "2b7e9c1f4a3d8065b3c9e2f4a1d7b806"
TWILIO_KEY_SECRET = "Xq7LmZ2vT9wY1nB3" + "cD5fG6hJ0pQsUaEi"
SENDGRID = "SG." + "ngeVfQFYQlKU0ufo8x5d1A.TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr"
DISCORD = "MTA4NzY1NDMyMTA5ODc2NTQzMg" + ".GhIjKl.Xq7LmZ2vT9wY1nB3cD5fG6hJ0pQsUaEi8kR"
DATABRICKS = "dapi" + "0123456789abcdef0123456789abcdef"
TELEGRAM = "6183045792:" + "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
NGROK = "2NeR3FhXrPqjuVpd3FeJ9v6S9Q4" + "_6Ueqh2DR1xL8wtHPnZQm5"
WANDB = "8f1c0a9e4b7d2c8f5a3e9b1d" + "7c4a2f8e6b0d3c91"
KAGGLE = "5f2c1a9e0b7d4c3e" + "8a6f1b2d9c0e7a4f"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"

# Tokens of code hosts, chat, clouds and model hubs; a JWT and a private key.
GITHUB = "ghp_" + "R8x2Kq9LmZ4vT7wY1nB3cD5fG6hJ0pQsUaEi"
GITHUB_FINE = "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
GITLAB = "glpat-" + "x7Yz-AbCdEfGhIjKlMn0"
SLACK_BOT = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_HOOK_PATH = "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
GOOGLE = "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"
OPENAI = "sk-" + "proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"
OPENAI_PLAIN = "sk-" + "T3BlbkFJ4uX9aQ2mN7pL0kR5vZ8"
STRIPE = "sk_" + "live_51HxYzAbCdEfGhIjKlMnOpQr"
AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_SESSION_ID = "ASIA" + "Y34FZKBOKMUTVV7A"
HUGGING_FACE = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz01234567"
JWT = (
    "eyJ" + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV"
)
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq3Vz\nQ1n5fX2yZ8wKJ\n-----END RSA PRIVATE KEY-----"

# The formats recognised wherever they stand (test_privacy.py puts them in every position it tries).
KEY_FORMATS = [TWILIO_SID, TWILIO_KEY_SID, SENDGRID, DISCORD, DATABRICKS, TELEGRAM]
