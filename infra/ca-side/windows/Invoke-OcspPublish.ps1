<#
.SYNOPSIS
  One run of `OcspResponder publish --config FILE`, its output written to the Windows event log
  (Application log, source "OcspFunctions Publish"): event 1000 Information when it succeeded, 1001 Error when an
  issuer failed (nothing was uploaded for it), 1002 Error for a bad configuration or anything else.
  Run by the scheduled task that Register-OcspPublishTask.ps1 creates; also usable by hand to test.
#>
param(
    [Parameter(Mandatory)] [string] $Executable,
    [Parameter(Mandatory)] [string] $Config
)
$ErrorActionPreference = 'Stop'
$source = 'OcspFunctions Publish'
if (-not [System.Diagnostics.EventLog]::SourceExists($source)) {
    New-EventLog -LogName Application -Source $source
}
# certutil output is read as bytes by the verb itself; this only captures the verb's own lines.
$output = & $Executable publish --config $Config 2>&1 | Out-String
$code = $LASTEXITCODE
$eventId = switch ($code) { 0 { 1000 } 1 { 1001 } default { 1002 } }
$type = if ($code -eq 0) { 'Information' } else { 'Error' }
Write-EventLog -LogName Application -Source $source -EventId $eventId -EntryType $type `
    -Message ("publish exited with code {0}`r`n{1}" -f $code, $output)
exit $code
