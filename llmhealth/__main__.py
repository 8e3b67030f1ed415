from llmhealth.cli import app

app(prog_name="llmhealth")
