"""The Functions app: builds the DFApp and registers the blueprints. Nothing else lives here."""

import azure.durable_functions as df
import azure.functions as func

from functions.events import bp as events_bp
from functions.http_api import bp as http_api_bp
from functions.timers import bp as timers_bp
from functions.uploads import bp as uploads_bp
from orchestrations.advisor import bp as advisor_bp
from orchestrations.store_sync import bp as store_sync_bp
from orchestrations.video_analysis import bp as video_analysis_bp

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(http_api_bp)
app.register_functions(timers_bp)
app.register_functions(store_sync_bp)
app.register_functions(events_bp)
app.register_functions(uploads_bp)
app.register_functions(video_analysis_bp)
app.register_functions(advisor_bp)
