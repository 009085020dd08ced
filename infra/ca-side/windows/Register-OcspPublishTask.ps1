<#
.SYNOPSIS
  Registers the scheduled task "OcspFunctions Publish": every 5 minutes, `OcspResponder publish --config FILE`,
  logged to the Application event log by Invoke-OcspPublish.ps1. Run elevated on the CA server.

.DESCRIPTION
  The task runs as SYSTEM by default, which can use an Azure Arc-enabled server's managed identity (no secret on
  disk). For a service principal instead, pass -User/-Password for an account whose environment carries
  AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_CERTIFICATE_PATH (DefaultAzureCredential reads them).
  A run that is still going when the next is due is not started twice (MultipleInstances IgnoreNew); a run is
  stopped after 30 minutes.

.EXAMPLE
  .\Register-OcspPublishTask.ps1 -Executable 'C:\Program Files\OcspFunctions\OcspResponder.exe' -Config 'C:\ProgramData\OcspFunctions\publish.json'
#>
param(
    [Parameter(Mandatory)] [string] $Executable,
    [Parameter(Mandatory)] [string] $Config,
    [TimeSpan] $Interval = (New-TimeSpan -Minutes 5),
    [string] $TaskName = 'OcspFunctions Publish',
    [string] $User,
    [string] $Password
)
$ErrorActionPreference = 'Stop'
foreach ($path in @($Executable, $Config)) {
    if (-not (Test-Path -LiteralPath $path)) { throw "$path does not exist" }
}
$runner = Join-Path $PSScriptRoot 'Invoke-OcspPublish.ps1'
$source = 'OcspFunctions Publish'
if (-not [System.Diagnostics.EventLog]::SourceExists($source)) {
    New-EventLog -LogName Application -Source $source
}
$arguments = '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{0}" -Executable "{1}" -Config "{2}"' -f $runner, $Executable, $Config
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument $arguments -WorkingDirectory (Split-Path -Parent $Config)
$trigger = New-ScheduledTaskTrigger -Once -At (Get-Date).Date -RepetitionInterval $Interval
$settings = New-ScheduledTaskSettingsSet -MultipleInstances IgnoreNew -ExecutionTimeLimit (New-TimeSpan -Minutes 30) `
    -StartWhenAvailable -DontStopIfGoingOnBatteries -AllowStartIfOnBatteries
if ($User) {
    Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Settings $settings -User $User -Password $Password -RunLevel Limited -Force | Out-Null
} else {
    $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
    Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Settings $settings -Principal $principal -Force | Out-Null
}
Write-Host "Registered '$TaskName': every $Interval; events in the Application log, source '$source'."
Write-Host "Run it now: Start-ScheduledTask -TaskName '$TaskName'"
